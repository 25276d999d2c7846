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
		name = nslab_nonul(L, -1, op, "netns");
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
	if (!lua_istable(L, idx))
		return 0;
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
	s = nslab_nonul(L, -1, NULL, field);
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

/* t[field] in lo..hi; 0 and *v untouched if absent. A number out of range
 * is an EINVAL error object for op/object/netns naming the range. */
int opt_range(lua_State *L, int idx, const char *field, lua_Integer lo,
	      lua_Integer hi, lua_Integer *v, const char *op,
	      const char *object, const char *netns)
{
	if (!opt_integer(L, idx, field, v))
		return 0;
	if (*v < lo || *v > hi)
		nslab_raise(L, op, object, netns, EINVAL,
			    lua_pushfstring(L, "%s %I is out of range (%I..%I)",
					    field, *v, lo, hi));
	return 1;
}

/* t[field] as one of names[] (NULL-terminated); -1 if absent. Another
 * string is an EINVAL error object listing the accepted ones. */
int opt_choice(lua_State *L, int idx, const char *field,
	       const char *const names[], const char *op, const char *object,
	       const char *netns)
{
	const char *s = opt_string(L, idx, field);
	luaL_Buffer b;

	if (!s)
		return -1;
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	lua_pushfstring(L, "unknown %s \"%s\" (one of ", field, s);
	luaL_buffinit(L, &b);
	lua_pushvalue(L, -2);
	luaL_addvalue(&b);
	for (int i = 0; names[i]; i++) {
		if (i)
			luaL_addstring(&b, ", ");
		luaL_addstring(&b, names[i]);
	}
	luaL_addchar(&b, ')');
	luaL_pushresult(&b);
	nslab_raise(L, op, object, netns, EINVAL, lua_tostring(L, -1));
	return -1;
}

long long opt_named(lua_State *L, int idx, const char *field,
		    const struct opt_name *tab, long long max, const char *op,
		    const char *object, const char *netns)
{
	luaL_Buffer b;
	long long v = -1;
	int isnum;

	if (!lua_istable(L, idx))
		return -1;
	switch (lua_getfield(L, idx, field)) {
	case LUA_TNIL:
		lua_pop(L, 1);
		return -1;
	case LUA_TNUMBER:
		v = (long long)lua_tointegerx(L, -1, &isnum);
		if (!isnum)
			v = -1;
		break;
	case LUA_TSTRING:
		if (!tab)
			luaL_argerror(
			    L, idx,
			    lua_pushfstring(L, "field '%s' must be an integer",
					    field));
		for (const struct opt_name *t = tab; t && t->name; t++)
			if (!strcmp(t->name, lua_tostring(L, -1)))
				v = t->value;
		break;
	default:
		luaL_argerror(L, idx,
			      lua_pushfstring(L, "field '%s' must be %s", field,
					      tab ? "a string or an integer"
						  : "an integer"));
	}
	if (v >= 0 && v <= max) {
		lua_pop(L, 1);
		return v;
	}
	lua_pushfstring(L, "invalid %s %s: ", field,
			luaL_tolstring(L, -1, NULL));
	luaL_buffinit(L, &b);
	lua_pushvalue(L, -2);
	luaL_addvalue(&b);
	for (const struct opt_name *t = tab; t && t->name; t++) {
		luaL_addstring(&b, t->name);
		luaL_addstring(&b, ", ");
	}
	lua_pushfstring(L, "%s0..%I", tab ? "or " : "", (lua_Integer)max);
	luaL_addvalue(&b);
	luaL_pushresult(&b);
	nslab_raise(L, op, object, netns, EINVAL, lua_tostring(L, -1));
	return -1;
}

int opt_flag(lua_State *L, int idx, const char *field, int def)
{
	int v = def;

	opt_boolean(L, idx, field, &v);
	return v;
}

const char *nslab_nonul(lua_State *L, int idx, const char *op,
			const char *field)
{
	size_t len;
	const char *s = lua_tolstring(L, idx, &len);

	if (!s || !memchr(s, 0, len))
		return s;
	if (!op)
		op = nslab_running_name(L);
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
