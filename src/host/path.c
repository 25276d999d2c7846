/*
 * path.c - where the nslab program finds Lua modules: the built-in nslab
 * module and its embedded Lua library (package.preload), the development
 * overrides of that library (-I dirs, NSLAB_PATH), and package.path and
 * package.cpath for the user's own modules.
 *
 * Read: Lua 5.4 manual 6.3 (package.searchers, package.searchpath),
 * lua(1) (LUA_PATH, LUA_INIT).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "embed.h"
#include "host/host.h"
#include "host/path.h"
#include "nslab.h"

/* Whether name is a module of the embedded library ("nslab", "nslab.lab"). */
static int is_embedded(const char *name)
{
	for (int i = 0; nslab_embedded[i].name; i++)
		if (!strcmp(nslab_embedded[i].name, name))
			return 1;
	return 0;
}

/*
 * package.searchers[1], before preload: for development, a module of the
 * embedded library found on the -I dirs or NSLAB_PATH (upvalue 1, a path
 * of templates) wins over the embedded copy. The first override is said
 * on stderr, every one with -v (upvalue 2); upvalue 3 is whether one was
 * said. Other names, and modules not found there, go on to preload.
 */
static int search_override(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	const char *file;
	char msg[PATH_MAX + 128];

	if (!is_embedded(name))
		return 0;
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "searchpath");
	lua_pushvalue(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_call(L, 2, 1);
	if (!lua_isstring(L, -1))
		return 0;
	file = lua_tostring(L, -1);
	if (luaL_loadfile(L, file) != LUA_OK)
		return luaL_error(
		    L, "error loading module '%s' from file '%s':\n\t%s", name,
		    file, lua_tostring(L, -1));
	if (lua_toboolean(L, lua_upvalueindex(2)) ||
	    !lua_toboolean(L, lua_upvalueindex(3))) {
		snprintf(msg, sizeof(msg),
			 "%s overrides the embedded %s (-I or NSLAB_PATH)%s",
			 file, name,
			 lua_toboolean(L, lua_upvalueindex(2))
			     ? ""
			     : "; -v lists every override");
		host_message(msg);
		lua_pushboolean(L, 1);
		lua_replace(L, lua_upvalueindex(3));
	}
	lua_pushstring(L, file);
	return 2;
}

/*
 * The Lua library's one delivery is the copy embedded in the program
 * (linit.c); package.path holds no library directory of its own. It is
 * -I dirs, NSLAB_PATH, then Lua's own path (LUA_PATH unless -E), for the
 * user's modules; the -I dirs and NSLAB_PATH are also searched first for
 * the library's own modules (search_override). package.cpath gets the -I
 * dirs' ?.so ahead of Lua's own.
 */
void path_set(lua_State *L, char **incs, int nincs, int noenv, int verbose)
{
	const char *envpath = noenv ? NULL : getenv("NSLAB_PATH");
	luaL_Buffer b;

	lua_getglobal(L, "package");
	luaL_buffinit(L, &b);
	for (int i = 0; i < nincs; i++) {
		luaL_addstring(&b, incs[i]);
		luaL_addstring(&b, "/?.lua;");
		luaL_addstring(&b, incs[i]);
		luaL_addstring(&b, "/?/init.lua;");
	}
	if (envpath && *envpath) {
		luaL_addstring(&b, envpath);
		luaL_addchar(&b, ';');
	}
	luaL_pushresult(&b); /* the override path */
	if (lua_rawlen(L, -1) > 0) {
		lua_getfield(L, -2, "searchers");
		/* ";;" (the default path) has no place in the override */
		luaL_gsub(L, lua_tostring(L, -2), ";;", ";");
		lua_pushboolean(L, verbose);
		lua_pushboolean(L, 0);
		lua_pushcclosure(L, search_override, 3);
		for (lua_Integer i = (lua_Integer)lua_rawlen(L, -2); i >= 1;
		     i--) {
			lua_rawgeti(L, -2, i);
			lua_rawseti(L, -3, i + 1);
		}
		lua_rawseti(L, -2, 1);
		lua_pop(L, 1);
	}
	lua_getfield(L, -2, "path");
	lua_concat(L, 2);
	/* ";;" from NSLAB_PATH means the default, as in LUA_PATH. */
	luaL_gsub(L, lua_tostring(L, -1), ";;;", ";");
	lua_setfield(L, -3, "path");
	lua_pop(L, 1);

	luaL_buffinit(L, &b);
	for (int i = 0; i < nincs; i++) {
		luaL_addstring(&b, incs[i]);
		luaL_addstring(&b, "/?.so;");
	}
	lua_getfield(L, -2, "cpath");
	luaL_addvalue(&b);
	luaL_pushresult(&b);
	lua_setfield(L, -2, "cpath");
	lua_pop(L, 1);
}

/*
 * package.searchers entry, after preload: "nslab.lab" asked for before
 * "nslab" itself opens nslab.core first, since opening it is what puts
 * the embedded nslab.* modules in package.preload.
 */
static int search_nslab(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);

	if (strncmp(name, "nslab.", 6) != 0)
		return 0;
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	if (lua_getfield(L, -1, "nslab.core") != LUA_TNIL)
		return 0; /* already open: preload had its chance */
	lua_getglobal(L, "require");
	lua_pushliteral(L, "nslab.core");
	lua_call(L, 1, 0);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	if (lua_getfield(L, -1, name) != LUA_TFUNCTION)
		return 0;
	lua_pushliteral(L, ":preload:");
	return 2;
}

/* Registers the built-in module: preload.nslab and nslab.core, and
 * search_nslab. */
void path_preload_nslab(lua_State *L)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(L, luaopen_nslab);
	lua_setfield(L, -2, "nslab");
	lua_pushcfunction(L, luaopen_nslab_core);
	lua_setfield(L, -2, "nslab.core");
	lua_pop(L, 1);
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "searchers");
	for (lua_Integer i = (lua_Integer)lua_rawlen(L, -1); i >= 2; i--) {
		lua_rawgeti(L, -1, i);
		lua_rawseti(L, -2, i + 1);
	}
	lua_pushcfunction(L, search_nslab);
	lua_rawseti(L, -2, 2);
	lua_pop(L, 2);
}
