/*
 * opt.c - the option readers every facility uses: one dialect and one
 * error-kind rule. A wrong type or an unknown field is an argument error
 * naming the function and the field; a well-typed but invalid value (a
 * bad name, an out-of-range number) is an EINVAL error object naming the
 * object and what is allowed.
 *
 * Read: Lua 5.4 manual 4 (luaL_argerror), ip-netns(8), netdevice(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"

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
		name = lua_tostring(L, -1);
		lua_pop(L, 1); /* still referenced by the table */
		nslab_check_netns(L, op, name);
		return name;
	default:
		luaL_argerror(L, idx, "field 'netns' must be a string");
		return NULL;
	}
}

/* ---- fields of option tables ---- */

/* Pushes t[field]; returns 0 (and pops) when it is nil. */
static int opt_get(lua_State *L, int idx, const char *field)
{
	if (lua_getfield(L, idx, field) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	return 0;
}

static void opt_type_error(lua_State *L, int idx, const char *field,
			   const char *what)
{
	luaL_argerror(L, idx,
		      lua_pushfstring(L, "field '%s' must be %s", field, what));
}

int opt_integer(lua_State *L, int idx, const char *field, lua_Integer *v)
{
	if (!opt_get(L, idx, field))
		return 0;
	if (!lua_isinteger(L, -1))
		opt_type_error(L, idx, field, "an integer");
	*v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return 1;
}

int opt_boolean(lua_State *L, int idx, const char *field, int *v)
{
	if (!opt_get(L, idx, field))
		return 0;
	if (!lua_isboolean(L, -1))
		opt_type_error(L, idx, field, "a boolean");
	*v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return 1;
}

const char *opt_string(lua_State *L, int idx, const char *field)
{
	const char *s;

	if (!opt_get(L, idx, field))
		return NULL;
	if (lua_type(L, -1) != LUA_TSTRING)
		opt_type_error(L, idx, field, "a string");
	s = lua_tostring(L, -1);
	lua_pop(L, 1); /* the table still holds it */
	return s;
}

const char *opt_ifname(lua_State *L, int idx, const char *field, const char *op)
{
	const char *s = opt_string(L, idx, field);

	if (s)
		nslab_check_ifname(L, op, s);
	return s;
}

const char *opt_netns(lua_State *L, int idx, const char *field, const char *op)
{
	const char *s = opt_string(L, idx, field);

	if (s)
		nslab_check_netns(L, op, s);
	return s;
}
