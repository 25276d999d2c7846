/*
 * err.c - the nslab.error object: what every facility raises when the
 * kernel (or a check) refuses. A table with op, object, netns, errno,
 * code ("EEXIST"), msg (strerror, then the kernel's extack text) and
 * extack, printing as one line:
 *   op object in netns "name": msg (CODE)
 * Also core.error, core.is_error, core.strerror and core.errno (the errno
 * names Lua code uses instead of numbers).
 *
 * Read: Lua 5.4 manual 4 (C API), errno(3), strerrorname_np(3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "core/core.h"

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
int nslab_l_error_new(lua_State *L)
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
int nslab_l_is_error(lua_State *L)
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
int nslab_l_strerror(lua_State *L)
{
	int err = (int)luaL_checkinteger(L, 1);

	lua_pushstring(L, strerror(err));
	lua_pushstring(L, errno_code(err));
	return 2;
}

void nslab_err_open(lua_State *L)
{
	luaL_newmetatable(L, NSLAB_ERROR_MT);
	lua_pushcfunction(L, l_error_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "nslab.error");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
}

void nslab_push_errno_names(lua_State *L)
{
	/* Every errno the C library names, so Lua code says core.errno.EEXIST
	 * instead of 17 (the numbers differ between architectures). */
	lua_createtable(L, 0, 140);
	for (int e = 1; e < 256; e++) {
		const char *name = strerrorname_np(e);

		if (name) {
			lua_pushinteger(L, e);
			lua_setfield(L, -2, name);
		}
	}
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
