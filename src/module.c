/*
 * module.c - luaopen_nslab: the module state, the error object, the input
 * checks every facility shares, and the assembly of the module from the C
 * facilities (core) and the Lua library embedded at build time (embed.c,
 * generated from lua/nslab/ (every .lua file)).
 *
 * Read: Lua 5.4 reference manual section 4 (C API), ip-netns(8) for the
 * netns name rules, netdevice(7) for IFNAMSIZ.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "embed.h"
#include "nslab.h"

struct nslab_state *nslab_state(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

/*
 * The trampoline every public C function is called through: upvalue 1 is
 * the function itself, upvalue 2 its public name ("netns.add"). Lua names
 * a C function in an argument error by how it was called, so
 * nslab.netns.add(1) said "bad argument #1 to 'add'"; errors that are
 * tables (error objects) pass through untouched, and an argument error
 * (a string: raised by the function itself, whose caller is C here, so
 * named '?' and without a position) is raised again with the public name
 * and the position of the Lua line that called it.
 */
static int named_call(lua_State *L)
{
	static const char head[] = "bad argument #";
	int n = lua_gettop(L), arg = 0, used = 0;
	const char *msg;

	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	if (lua_pcall(L, n, LUA_MULTRET, 0) == LUA_OK)
		return lua_gettop(L);
	if (lua_type(L, -1) != LUA_TSTRING)
		return lua_error(L);
	msg = lua_tostring(L, -1);
	if (strncmp(msg, head, sizeof(head) - 1) != 0 ||
	    sscanf(msg + sizeof(head) - 1, "%d to '?' (%n", &arg, &used) < 1 ||
	    used == 0)
		return lua_error(L);
	luaL_where(L, 1);
	lua_pushfstring(L, "bad argument #%d to '%s' (", arg,
			lua_tostring(L, lua_upvalueindex(2)));
	lua_pushstring(L, msg + sizeof(head) - 1 + used);
	lua_concat(L, 3);
	return lua_error(L);
}

void nslab_setfuncs(lua_State *L, const char *prefix, const luaL_Reg *reg,
		    int nup)
{
	luaL_checkstack(L, nup + 3, "too many upvalues");
	for (; reg->name; reg++) {
		for (int i = 0; i < nup; i++)
			lua_pushvalue(L, -nup);
		lua_pushcclosure(L, reg->func, nup);
		lua_pushfstring(L, "%s.%s", prefix, reg->name);
		lua_pushcclosure(L, named_call, 2);
		lua_setfield(L, -(nup + 2), reg->name);
	}
	lua_pop(L, nup);
}

void nslab_newlib(lua_State *L, const char *name, const luaL_Reg *reg)
{
	lua_newtable(L);
	lua_pushvalue(L, -2);
	nslab_setfuncs(L, name, reg, 1);
	lua_setfield(L, -3, name);
}

/* ---- error objects ---- */

static const char *errno_code(int err)
{
	const char *s = err ? strerrorname_np(err) : NULL;

	return s ? s : "EUNKNOWN";
}

/* __tostring: [step: ]op object in netns "name": msg (CODE); a lab sets
 * step ("lab \"x\": link red:eth0 -- blue:eth0") on errors it re-raises.
 * Every field is fetched onto the stack before the buffer starts: a
 * luaL_Buffer that grew past its inline space lives in a stack slot and
 * must be on top whenever something is added (a value pushed above it
 * while adding crashed on messages of about 2 KB). Fields that are not
 * strings are skipped; bytes (NUL included) are copied as they are. */
static int l_error_tostring(lua_State *L)
{
	static const char *const keys[] = {"step",  "op",  "object",
					   "netns", "msg", "code"};
	const char *v[6];
	size_t n[6];
	luaL_Buffer b;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	for (int i = 0; i < 6; i++) {
		if (lua_getfield(L, 1, keys[i]) == LUA_TSTRING)
			v[i] = lua_tolstring(L, -1, &n[i]);
		else
			v[i] = NULL, n[i] = 0;
	}
	luaL_buffinit(L, &b);
	if (v[0]) {
		luaL_addlstring(&b, v[0], n[0]);
		luaL_addstring(&b, ": ");
	}
	if (v[1])
		luaL_addlstring(&b, v[1], n[1]);
	if (v[2]) {
		luaL_addchar(&b, ' ');
		luaL_addlstring(&b, v[2], n[2]);
	}
	if (v[3]) {
		luaL_addstring(&b, " in netns \"");
		luaL_addlstring(&b, v[3], n[3]);
		luaL_addchar(&b, '"');
	}
	luaL_addstring(&b, ": ");
	if (v[4])
		luaL_addlstring(&b, v[4], n[4]);
	if (v[5]) {
		luaL_addstring(&b, " (");
		luaL_addlstring(&b, v[5], n[5]);
		luaL_addchar(&b, ')');
	}
	luaL_pushresult(&b);
	return 1;
}

/*
 * For EMFILE: the limit that was hit and what to do, since nslab's own
 * fds (two per netns) are the usual reason. NULL for other errors.
 */
static const char *emfile_hint(lua_State *L, int err)
{
	struct rlimit r;

	if (err != EMFILE || getrlimit(RLIMIT_NOFILE, &r) < 0)
		return NULL;
	if (r.rlim_max == RLIM_INFINITY)
		r.rlim_max = r.rlim_cur;
	return lua_pushfstring(
	    L,
	    "the open-file limit (RLIMIT_NOFILE, ulimit -n) is %I, hard "
	    "limit %I, and nslab keeps 2 fds per netns (3 once a command "
	    "ran in it): raise the hard limit (ulimit -Hn, as root) before "
	    "starting nslab",
	    (lua_Integer)r.rlim_cur, (lua_Integer)r.rlim_max);
}

/* Fills code/msg from errno and extack into the table on top. */
static void error_fill(lua_State *L, int err, const char *extack)
{
	const char *hint = emfile_hint(L, err);

	if (hint) {
		if (extack && *extack)
			lua_pushfstring(L, "%s; %s", extack, hint);
		else
			lua_pushstring(L, hint);
		extack = lua_tostring(L, -1);
		lua_insert(L, -3); /* keep both anchored below the table */
		lua_insert(L, -3);
	}
	lua_pushinteger(L, err);
	lua_setfield(L, -2, "errno");
	lua_pushstring(L, errno_code(err));
	lua_setfield(L, -2, "code");
	if (extack && *extack) {
		lua_pushfstring(L, "%s: %s", strerror(err), extack);
		lua_setfield(L, -2, "msg");
		lua_pushstring(L, extack);
		lua_setfield(L, -2, "extack");
	} else {
		lua_pushstring(L, strerror(err));
		lua_setfield(L, -2, "msg");
	}
}

int nslab_raise(lua_State *L, const char *op, const char *object,
		const char *netns, int err, const char *extack)
{
	lua_createtable(L, 0, 8);
	lua_pushstring(L, op);
	lua_setfield(L, -2, "op");
	if (object) {
		lua_pushstring(L, object);
		lua_setfield(L, -2, "object");
	}
	if (netns) {
		lua_pushstring(L, netns);
		lua_setfield(L, -2, "netns");
	}
	error_fill(L, err, extack);
	luaL_setmetatable(L, NSLAB_ERROR_MT);
	return lua_error(L);
}

int nslab_raise_nl(lua_State *L, const char *op, const char *object,
		   const char *netns, const struct nl_err *e)
{
	return nslab_raise(L, op, object, netns, e->err, e->ext);
}

/*
 * core.error(t) -> t: makes t an nslab error object, so Lua code raises the
 * same shape as C. t.errno (integer) fills code and msg unless given;
 * t.extack is appended to msg as C does.
 */
static int l_error_new(lua_State *L)
{
	int err;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	if (lua_getfield(L, 1, "errno") == LUA_TNUMBER) {
		err = (int)lua_tointeger(L, -1);
		lua_pop(L, 1);
		if (lua_getfield(L, 1, "code") == LUA_TNIL) {
			lua_pushstring(L, errno_code(err));
			lua_setfield(L, 1, "code");
		}
		lua_pop(L, 1);
		if (lua_getfield(L, 1, "msg") == LUA_TNIL) {
			if (lua_getfield(L, 1, "extack") == LUA_TSTRING)
				lua_pushfstring(L, "%s: %s", strerror(err),
						lua_tostring(L, -1));
			else
				lua_pushstring(L, strerror(err));
			lua_setfield(L, 1, "msg");
			lua_pop(L, 1);
		}
	}
	lua_settop(L, 1);
	luaL_setmetatable(L, NSLAB_ERROR_MT);
	return 1;
}

/* core.is_error(v) -> boolean: v is an nslab error object. */
static int l_is_error(lua_State *L)
{
	if (!lua_getmetatable(L, 1)) {
		lua_pushboolean(L, 0);
		return 1;
	}
	luaL_getmetatable(L, NSLAB_ERROR_MT);
	lua_pushboolean(L, lua_rawequal(L, -1, -2));
	return 1;
}

/* core.strerror(errno) -> msg, code */
static int l_strerror(lua_State *L)
{
	int err = (int)luaL_checkinteger(L, 1);

	lua_pushstring(L, strerror(err));
	lua_pushstring(L, errno_code(err));
	return 2;
}

/* ---- input checks ---- */

/* The public name ("netns.add") of the primitive running now, from the
 * trampoline that called it (named_call's upvalue 2), or NULL. Pushes
 * one value either way. */
static const char *running_name(lua_State *L)
{
	lua_Debug ar;

	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "f", &ar)) {
		if (lua_tocfunction(L, -1) == named_call &&
		    lua_getupvalue(L, -1, 2)) {
			lua_remove(L, -2);
			return lua_tostring(L, -1);
		}
		lua_pop(L, 1);
	}
	lua_pushnil(L);
	return NULL;
}

void nslab_push_quoted(lua_State *L, const char *s, size_t len)
{
	luaL_Buffer b;
	size_t max = len > 64 ? 60 : len;

	luaL_buffinit(L, &b);
	luaL_addchar(&b, '"');
	for (size_t i = 0; i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c == 0) {
			luaL_addstring(&b, "\\0");
		} else if (c == '"' || c == '\\') {
			luaL_addchar(&b, '\\');
			luaL_addchar(&b, (char)c);
		} else if (c < 32 || c == 127) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			luaL_addstring(&b, esc);
		} else {
			luaL_addchar(&b, (char)c);
		}
	}
	luaL_addstring(&b, max < len ? "...\"" : "\"");
	luaL_pushresult(&b);
}

const char *nslab_nonul(lua_State *L, int idx, const char *op,
			const char *field)
{
	size_t len;
	const char *s = lua_tolstring(L, idx, &len);

	if (!s || !memchr(s, 0, len))
		return s;
	if (!op)
		op = running_name(L);
	if (!op)
		op = "nslab";
	nslab_push_quoted(L, s, len);
	lua_pushfstring(L, "%s contains a NUL byte", field);
	nslab_raise(L, op, lua_tostring(L, -2), NULL, EINVAL,
		    lua_tostring(L, -1));
	return NULL;
}

const char *nslab_checkstr(lua_State *L, int arg, const char *op,
			   const char *field)
{
	luaL_checkstring(L, arg);
	return nslab_nonul(L, arg, op, field);
}

int nslab_netns_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 255 && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0 && !strchr(name, '/');
}

const char *nslab_ifname_problem(const char *name, char *buf, size_t n)
{
	size_t len = strlen(name);

	if (len == 0)
		return "interface name is empty";
	if (len > IFNAMSIZ - 1) {
		snprintf(buf, n, "interface name \"%s\" is %zu bytes (max %d)",
			 name, len, IFNAMSIZ - 1);
		return buf;
	}
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		snprintf(buf, n, "interface name \"%s\" is not allowed", name);
		return buf;
	}
	/* The kernel refuses these with a bare EINVAL: they would clash with
	 * /proc/sys/net/ipv4/conf/all and .../default. */
	if (!strcmp(name, "all") || !strcmp(name, "default")) {
		snprintf(buf, n,
			 "interface name \"%s\" is reserved (it would clash "
			 "with /proc/sys/net/*/conf/%s)",
			 name, name);
		return buf;
	}
	for (const char *p = name; *p; p++) {
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p)) {
			snprintf(buf, n,
				 "interface name \"%s\" contains %s "
				 "(no '/', ':' or whitespace)",
				 name,
				 *p == '/'    ? "'/'"
				 : *p == ':'  ? "':'"
				 : *p == ' '  ? "a space"
				 : *p == '\t' ? "a tab"
				 : *p == '\n' ? "a newline"
					      : "whitespace");
			return buf;
		}
	}
	return NULL;
}

void nslab_check_netns(lua_State *L, const char *op, const char *name)
{
	char buf[320];

	if (nslab_netns_name_ok(name))
		return;
	snprintf(buf, sizeof(buf), "invalid netns name \"%.260s\"", name);
	nslab_raise(L, op, NULL, NULL, EINVAL, buf);
}

void nslab_check_ifname(lua_State *L, const char *op, const char *name)
{
	char buf[160];
	const char *why = nslab_ifname_problem(name, buf, sizeof(buf));

	if (why)
		nslab_raise(L, op, NULL, NULL, EINVAL, why);
}

void nslab_check_fields(lua_State *L, int idx, const char *const fields[])
{
	idx = lua_absindex(L, idx);
	if (!lua_istable(L, idx))
		return;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const char *k;
		int i;

		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			luaL_argerror(L, idx, "option keys must be strings");
			return;
		}
		k = lua_tostring(L, -1);
		for (i = 0; fields[i] && strcmp(fields[i], k) != 0; i++)
			;
		if (!fields[i])
			luaL_argerror(
			    L, idx,
			    lua_pushfstring(L, "unknown field '%s'", k));
	}
}

const char *nslab_opt_netns(lua_State *L, int idx, const char *op)
{
	const char *name;

	if (lua_isnoneornil(L, idx))
		return NULL;
	luaL_checktype(L, idx, LUA_TTABLE);
	switch (lua_getfield(L, idx, "netns")) {
	case LUA_TNIL:
		lua_pop(L, 1);
		return NULL;
	case LUA_TSTRING:
		name = nslab_nonul(L, -1, op, "netns");
		lua_pop(L, 1); /* still referenced by the table */
		nslab_check_netns(L, op, name);
		return name;
	default:
		luaL_argerror(L, idx, "field 'netns' must be a string");
		return NULL;
	}
}

void nslab_need_caps(lua_State *L, const char *op, const char *object)
{
	struct nslab_state *st = nslab_state(L);
	const char *missing;
	char buf[200];

	if (st->caps_checked)
		return;
	missing = caps_missing();
	if (missing) {
		FILE *f = fopen("/proc/sys/user/max_user_namespaces", "re");
		long max = -1;

		if (f) {
			if (fscanf(f, "%ld", &max) != 1)
				max = -1;
			fclose(f);
		}
		if (max == 0)
			snprintf(buf, sizeof(buf),
				 "needs %s: run nslab as root (sudo); rootless "
				 "mode cannot help here, user namespaces are "
				 "disabled (sysctl user.max_user_namespaces is "
				 "0)",
				 missing);
		else
			snprintf(buf, sizeof(buf),
				 "needs %s: run nslab as root (sudo), or "
				 "without root through user namespaces (nslab "
				 "--rootless)",
				 missing);
		nslab_raise(L, op, object, NULL, EPERM, buf);
	}
	st->caps_checked = 1;
}

/*
 * core.need_caps(op[, object]): raises the EPERM error object naming the
 * missing capability (as the first privileged primitive would) unless
 * CAP_NET_ADMIN and CAP_SYS_ADMIN are effective. For Lua code that must
 * check before doing anything, such as nslab.lab writing its record.
 */
static int l_need_caps(lua_State *L)
{
	nslab_need_caps(L, luaL_checkstring(L, 1), luaL_optstring(L, 2, NULL));
	return 0;
}

struct nl_conn *nslab_conn(lua_State *L, const char *op, const char *object,
			   const char *netns)
{
	struct nslab_state *st = nslab_state(L);
	struct nl_conn *c;
	char buf[300];
	int err;

	nslab_need_caps(L, op, object);
	c = nl_conn_get(st, netns);
	if (c)
		return c;
	err = errno;
	if (netns && err == ENOENT)
		snprintf(buf, sizeof(buf), "netns \"%.255s\" does not exist",
			 netns);
	else if (netns && err == ELOOP)
		snprintf(buf, sizeof(buf),
			 NSLAB_NETNS_DIR "/%.255s is a symlink, not a netns",
			 netns);
	else if (netns && err == ENOTSUP)
		snprintf(buf, sizeof(buf),
			 NSLAB_NETNS_DIR "/%.255s is not a network namespace",
			 netns);
	else
		buf[0] = 0;
	nslab_raise(L, op, object, netns, err, buf);
	return NULL;
}

/* ---- the module ---- */

/* A cap on the soft limit when the hard one is unlimited: setrlimit
 * refuses more than fs.nr_open (1048576 by default). */
#define NOFILE_CAP 1048576

/*
 * nslab keeps two fds per netns it touched (the netns and its rtnetlink
 * socket, a third once a command ran there), so a stock soft limit of
 * 1024 stops a lab near 500 namespaces: raise the soft RLIMIT_NOFILE to
 * the hard one, as an unprivileged process may. The original is kept in
 * st->nofile and given back to commands (exec_spawn.c). getrlimit(2).
 */
static void nofile_raise(struct nslab_state *st)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &st->nofile) < 0)
		return;
	r = st->nofile;
	r.rlim_cur = r.rlim_max == RLIM_INFINITY || r.rlim_max > NOFILE_CAP
			 ? NOFILE_CAP
			 : r.rlim_max;
	if (r.rlim_cur > st->nofile.rlim_cur &&
	    setrlimit(RLIMIT_NOFILE, &r) == 0)
		st->nofile_raised = 1;
}

static int l_state_gc(lua_State *L)
{
	struct nslab_state *st = luaL_checkudata(L, 1, NSLAB_STATE_MT);

	for (size_t i = 0; i < st->cap; i++)
		if (st->tab[i])
			nl_conn_forget(st, st->tab[i]->name), i--;
	free(st->tab);
	st->tab = NULL;
	st->cap = st->len = 0;
	if (st->self.nl)
		mnl_socket_close(st->self.nl);
	st->self.nl = NULL;
	if (st->self_nsfd >= 0)
		close(st->self_nsfd);
	st->self_nsfd = -1;
	if (st->sysproc_fd >= 0)
		close(st->sysproc_fd);
	st->sysproc_fd = -1;
	return 0;
}

/* core.isatty(fd) -> boolean: fd (0, 1, 2, ...) is a terminal. */
static int l_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)) == 1);
	return 1;
}

/* core.monotime() -> seconds (float) on CLOCK_MONOTONIC, for elapsed
 * times and deadlines that wall-clock changes cannot disturb. */
static int l_monotime(lua_State *L)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
	return 1;
}

/* core.getpid() -> integer, the pid of the nslab process. */
static int l_getpid(lua_State *L)
{
	lua_pushinteger(L, getpid());
	return 1;
}

/* core.sleep(seconds): sleeps, fractional seconds allowed; an interrupting
 * signal ends the sleep early (the host then raises "interrupted"). */
static int l_sleep(lua_State *L)
{
	lua_Number s = luaL_checknumber(L, 1);
	struct timespec ts;

	luaL_argcheck(L, s >= 0, 1, "seconds must be >= 0");
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	return 0;
}

static const luaL_Reg core_funcs[] = {
    {"need_caps", l_need_caps},
    {"isatty", l_isatty},
    {"monotime", l_monotime},
    {"getpid", l_getpid},
    {"sleep", l_sleep},
    {"error", l_error_new},
    {"is_error", l_is_error},
    {"strerror", l_strerror},
    {"defer_signals", nslab_l_defer_signals}, /* defer.c */
    {NULL, NULL},
};

/* Loader for one embedded Lua file: upvalue 1 is its index. */
static int load_embedded(lua_State *L)
{
	const struct nslab_embedded *e =
	    &nslab_embedded[lua_tointeger(L, lua_upvalueindex(1))];
	char chunk[128];

	snprintf(chunk, sizeof(chunk), "@[nslab]/%s", e->path);
	if (luaL_loadbuffer(L, e->src, e->len, chunk) != LUA_OK)
		return lua_error(L);
	lua_pushstring(L, e->name);
	lua_call(L, 1, 1);
	return 1;
}

/*
 * luaopen_nslab -> module table. Builds package.loaded["nslab.core"] from
 * the C facilities, puts the embedded Lua modules into package.preload and
 * returns what lua/nslab/init.lua returns.
 */
int luaopen_nslab(lua_State *L)
{
	struct nslab_state *st;
	int init = -1;

	luaL_newmetatable(L, NSLAB_ERROR_MT);
	lua_pushcfunction(L, l_error_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "nslab.error");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);

	lua_newtable(L); /* core */
	st = lua_newuserdatauv(L, sizeof(*st), 0);
	memset(st, 0, sizeof(*st));
	st->self_nsfd = -1;
	st->self.nsfd = -1;
	st->self.mntfd = -1;
	st->sysproc_fd = -1;
	nofile_raise(st);
	if (luaL_newmetatable(L, NSLAB_STATE_MT)) {
		lua_pushcfunction(L, l_state_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	st->self_nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (st->self_nsfd < 0)
		return luaL_error(L, "nslab: cannot open own netns: %s",
				  strerror(errno));
	/* [core, state]: core._state keeps the state alive. */
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "_state");
	luaL_setfuncs(L, core_funcs, 1);
	lua_getfield(L, -1, "_state");
	nslab_open_netns(L);
	nslab_open_link(L);
	nslab_open_addr(L);
	nslab_open_route(L);
	nslab_open_sysctl(L);
	nslab_open_exec(L);
	nslab_open_record(L);
	lua_pop(L, 1);

	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_pushvalue(L, -2);
	lua_setfield(L, -2, "nslab.core");
	lua_pop(L, 2); /* LOADED and core: package.loaded holds it now */

	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	for (int i = 0; nslab_embedded[i].name; i++) {
		if (!strcmp(nslab_embedded[i].name, "nslab")) {
			init = i;
			continue;
		}
		lua_pushinteger(L, i);
		lua_pushcclosure(L, load_embedded, 1);
		lua_setfield(L, -2, nslab_embedded[i].name);
	}
	lua_pop(L, 1);
	if (init < 0)
		return luaL_error(L, "nslab: lua/nslab/init.lua not embedded");
	lua_pushinteger(L, init);
	lua_pushcclosure(L, load_embedded, 1);
	lua_call(L, 0, 1);
	return 1;
}
