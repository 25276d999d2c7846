/*
 * state.c - the module state (the rtnetlink socket cache of nl/, the fd
 * limit, the private proc mount sysctl.c uses), the capability check every
 * privileged call makes first, and the small core functions: isatty,
 * monotime (the one monotonic clock), getpid, sleep, kill_self.
 *
 * Read: capabilities(7), getrlimit(2), clock_gettime(2), kill(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/core.h"

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

/* The public name ("netns.add") of the primitive running now, from the
 * trampoline that called it (named_call's upvalue 2), or NULL. Pushes
 * one value either way. */
const char *nslab_running_name(lua_State *L)
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

void nslab_newlib(lua_State *L, const char *name, const luaL_Reg *reg)
{
	lua_newtable(L);
	lua_pushvalue(L, -2);
	nslab_setfuncs(L, name, reg, 1);
	lua_setfield(L, -3, name);
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
	/* background deletions that ended: reaped here, at the next
	 * rtnetlink call, so none stays a zombie for long (bg.c) */
	if (st->bg_len)
		nslab_bg_settle(st, 0);
	c = nl_conn_get(&st->nl, netns);
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

	nslab_bg_free(st);
	nl_cache_close(&st->nl);
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
double nslab_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int l_monotime(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)nslab_now());
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

/*
 * core.kill_self(signal): sends signal ("SIGINT", "SIGTERM" or "SIGHUP",
 * the ones the host turns into "interrupted (SIGxxx)") to this process
 * with kill(getpid(), sig), for the lab's fault-injection seam
 * (lua/nslab/fault.lua) instead of running kill(1). POSIX has a signal a
 * process sends itself, when not blocked, delivered before kill() returns
 * (nslab is single-threaded), so the handler has run when this returns.
 * Any other name is an argument error; a failing kill() raises.
 */
static int l_kill_self(lua_State *L)
{
	static const char *const names[] = {"SIGINT", "SIGTERM", "SIGHUP",
					    NULL};
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	int sig = sigs[luaL_checkoption(L, 1, NULL, names)];

	if (kill(getpid(), sig) < 0)
		return nslab_raise(L, "core.kill_self", NULL, NULL, errno,
				   NULL);
	return 0;
}

static const luaL_Reg core_funcs[] = {
    {"need_caps", l_need_caps},
    {"isatty", l_isatty},
    {"monotime", l_monotime},
    {"getpid", l_getpid},
    {"sleep", l_sleep},
    {"kill_self", l_kill_self},
    {"error", nslab_l_error_new},
    {"is_error", nslab_l_is_error},
    {"strerror", nslab_l_strerror},
    {"defer_signals", nslab_l_defer_signals}, /* defer.c */
    {NULL, NULL},
};

void nslab_core_open(lua_State *L)
{
	struct nslab_state *st;

	lua_newtable(L); /* core */
	st = lua_newuserdatauv(L, sizeof(*st), 0);
	memset(st, 0, sizeof(*st));
	st->nl.self_nsfd = -1;
	st->sysproc_fd = -1;
	if (luaL_newmetatable(L, NSLAB_STATE_MT)) {
		lua_pushcfunction(L, l_state_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	if (nl_cache_init(&st->nl) < 0)
		luaL_error(L, "nslab: cannot open own netns: %s",
			   strerror(errno));
	nofile_raise(st);
	/* [core, state]: core._state keeps the state alive. */
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "_state");
	lua_pushvalue(L, -2);
	lua_pushvalue(L, -2);
	luaL_setfuncs(L, core_funcs, 1);
	nslab_push_errno_names(L);
	lua_setfield(L, -2, "errno");
	lua_pop(L, 1);
}
