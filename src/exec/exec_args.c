/*
 * exec_args.c - the arguments of exec, sh and spawn turned into what the
 * child needs (struct exec_spec): argv, the environment, the options, the
 * user (resolved here, in the parent, with getpwnam_r and getgrouplist).
 * Every check happens before anything is acquired; C strings point into
 * Lua strings kept alive by the proc's anchor table.
 *
 * Read: environ(7), getpwnam_r(3), getgrouplist(3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "exec/exec.h"
#include "core/caps.h"
#include "core/core.h"

#define MAX_GROUPS0 64 /* first guess; getgrouplist says if more */

static const char *const opt_fields[] = {
    "timeout", "stdin", "env",	     "cwd",    "capture", "check",
    "user",    "caps",	"pdeathsig", "stdout", NULL,
};

/* Pushes field k of the table at idx when present and of type t
 * (returning 1), else pops it and returns 0; raises on a wrong type. */
static int opt_field(lua_State *L, int idx, const char *k, int t,
		     const char *want)
{
	int got;

	if (lua_isnoneornil(L, idx))
		return 0;
	got = lua_getfield(L, idx, k);
	if (got == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (got != t)
		luaL_argerror(L, idx,
			      lua_pushfstring(L,
					      "field '%s' must be %s, not %s",
					      k, want, luaL_typename(L, -1)));
	return 1;
}

static int opt_bool(lua_State *L, int idx, const char *k, int dflt)
{
	int v = dflt;

	if (opt_field(L, idx, k, LUA_TBOOLEAN, "a boolean")) {
		v = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	return v;
}

/* Reads opts (table at idx, or nil) into o; env and user come later. */
void exec_read_opts(lua_State *L, int idx, struct exec_opts *o, const char *op)
{
	memset(o, 0, sizeof(*o));
	if (!lua_isnoneornil(L, idx)) {
		luaL_checktype(L, idx, LUA_TTABLE);
		nslab_check_fields(L, idx, opt_fields);
	}
	if (opt_field(L, idx, "timeout", LUA_TNUMBER, "a number")) {
		o->timeout = lua_tonumber(L, -1);
		lua_pop(L, 1);
		luaL_argcheck(L, o->timeout > 0 && o->timeout < 1e9, idx,
			      "field 'timeout' must be more than 0 and less "
			      "than 1e9 seconds");
	}
	if (opt_field(L, idx, "stdin", LUA_TSTRING, "a string")) {
		o->in = lua_tolstring(L, -1, &o->in_len); /* held by opts */
		lua_pop(L, 1);
	}
	if (opt_field(L, idx, "cwd", LUA_TSTRING, "a string")) {
		o->cwd = nslab_nonul(L, -1, op, "cwd");
		lua_pop(L, 1);
	}
	if (opt_field(L, idx, "stdout", LUA_TSTRING, "a string")) {
		o->out_path = nslab_nonul(L, -1, op, "stdout");
		lua_pop(L, 1);
	}
	o->capture = opt_bool(L, idx, "capture", 1);
	o->check = opt_bool(L, idx, "check", 0);
	o->no_pdeathsig = !opt_bool(L, idx, "pdeathsig", 1);
	if (opt_field(L, idx, "caps", LUA_TSTRING, "\"none\"")) {
		luaL_argcheck(L, !strcmp(lua_tostring(L, -1), "none"), idx,
			      "field 'caps' must be \"none\"");
		o->caps_none = 1;
		lua_pop(L, 1);
	}
}

/* Appends the value on top to the anchor table uv (so the C pointers into
 * it stay valid as long as the proc lives) and pops it. */
void exec_anchor(lua_State *L, int uv)
{
	lua_rawseti(L, uv, (lua_Integer)lua_rawlen(L, uv) + 1);
}

/* argv from the array at idx: strings (numbers converted), at least one. */
char **exec_argv(lua_State *L, int idx, int uv, const char *op)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	char **argv;

	luaL_argcheck(L, n >= 1, idx, "argv must not be empty");
	argv = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof(*argv), 0);
	exec_anchor(L, uv);
	for (lua_Integer i = 1; i <= n; i++) {
		int t = lua_rawgeti(L, idx, i);

		if (t != LUA_TSTRING && t != LUA_TNUMBER)
			luaL_argerror(
			    L, idx,
			    lua_pushfstring(L, "argv[%d] must be a string",
					    (int)i));
		char field[32];

		/* execve would silently cut the argument at the NUL. */
		snprintf(field, sizeof(field), "argv[%d]", (int)i);
		argv[i - 1] = (char *)nslab_nonul(L, -1, op, field);
		exec_anchor(L, uv);
	}
	argv[n] = NULL;
	return argv;
}

/*
 * The environment: nslab's own, with the entries of the table at idx set
 * (string or number values) or removed (false). Lua cannot list environ,
 * so a table that replaced it would lose PATH and friends.
 */
char **exec_env(lua_State *L, int idx, int uv, const char *op)
{
	extern char **environ;
	size_t n = 0, i = 0;
	char **envp;
	int env;

	if (!opt_field(L, idx, "env", LUA_TTABLE, "a table"))
		return environ;
	env = lua_gettop(L);

	for (char **e = environ; *e; e++)
		n++;
	lua_pushnil(L);
	while (lua_next(L, env)) {
		int t = lua_type(L, -1);
		int ok = t == LUA_TSTRING || t == LUA_TNUMBER ||
			 (t == LUA_TBOOLEAN && !lua_toboolean(L, -1));

		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING || !*lua_tostring(L, -1) ||
		    strchr(lua_tostring(L, -1), '='))
			luaL_argerror(L, idx,
				      "env names must be non-empty strings "
				      "without '='");
		if (!ok)
			luaL_argerror(
			    L, idx,
			    lua_pushfstring(L,
					    "env.%s must be a string, a "
					    "number or false (to remove it)",
					    lua_tostring(L, -1)));
		/* the environment block is NUL-separated: a NUL would cut
		 * the value (or the name) there */
		nslab_nonul(L, -1, op, "an env name");
		if (t != LUA_TBOOLEAN) {
			const char *field =
			    lua_pushfstring(L, "env.%s", lua_tostring(L, -1));

			lua_pushvalue(L, -2);
			lua_rawget(L, env);
			nslab_nonul(L, -1, op, field);
			lua_pop(L, 2);
		}
		n++;
	}
	envp = lua_newuserdatauv(L, (n + 1) * sizeof(*envp), 0);
	exec_anchor(L, uv);
	for (char **e = environ; *e; e++) {
		lua_pushlstring(L, *e, strcspn(*e, "="));
		if (lua_rawget(L, env) == LUA_TNIL)
			envp[i++] = *e;
		lua_pop(L, 1);
	}
	lua_pushnil(L);
	while (lua_next(L, env)) {
		if (lua_type(L, -1) != LUA_TBOOLEAN) {
			envp[i++] = (char *)lua_pushfstring(
			    L, "%s=%s", lua_tostring(L, -2),
			    lua_tostring(L, -1));
			exec_anchor(L, uv);
		}
		lua_pop(L, 1);
	}
	envp[i] = NULL;
	lua_pop(L, 1); /* env table */
	return envp;
}

/* opts.user: a name or a uid, resolved here (getpwnam_r, getgrouplist)
 * so the child needs no user database. */
void exec_user(lua_State *L, int idx, int uv, struct exec_spec *s,
	       const char *op, const char *object, const char *netns)
{
	const char *name = NULL;
	gid_t *groups;
	int n = MAX_GROUPS0, t;

	if (lua_isnoneornil(L, idx))
		return;
	t = lua_getfield(L, idx, "user");
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (t == LUA_TSTRING) {
		name = nslab_nonul(L, -1, op, "user");
	} else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 &&
		   lua_tointeger(L, -1) < (lua_Integer)(uid_t)-1) {
		s->uid = (uid_t)lua_tointeger(L, -1);
	} else {
		luaL_argerror(L, idx,
			      "field 'user' must be a user name or a uid");
	}
	for (;;) {
		groups = lua_newuserdatauv(L, (size_t)n * sizeof(*groups), 0);
		exec_anchor(L, uv);
		if (caps_user_find(name, &s->uid, &s->gid, groups, &n) == 0)
			break;
		if (errno == ERANGE && n > 0)
			continue; /* n is the count needed now */
		if (errno == ENOENT)
			nslab_raise(L, op, object, netns, EINVAL,
				    lua_pushfstring(L, "no user \"%s\"", name));
		nslab_raise(L, op, object, netns, errno, "user lookup");
	}
	lua_pop(L, 1);
	s->groups = groups;
	s->ngroups = (size_t)n;
	s->set_user = 1;
}
