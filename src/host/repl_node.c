/*
 * repl_node.c - the REPL's bridge to lua/nslab/repl.lua, which holds what
 * the REPL knows about labs: node commands ("red ping -c1 blue"), node
 * globals, the open labs of "help" and node names for Tab. This file only
 * loads that module once, calls its functions protected, and keeps the
 * terminal's side: the Ctrl-C hook around a node command, and the signal
 * it consumed cleared afterwards.
 *
 * The module's interface (see its LDoc): line(text) -> handled,
 * globals(), help() -> text, complete(before, part) -> names, only.
 * Read: lua(1) (lua_pcall), ip-netns(8).
 */
#include <stdio.h>

#include <lauxlib.h>
#include <lua.h>

#include "host/host.h"
#include "host/repl.h"

/* The module table in the registry, or LUA_NOREF when it failed to load
 * (then the REPL has no node commands). One REPL per process. */
static int module_ref = LUA_NOREF;

void repl_node_open(lua_State *L)
{
	lua_getglobal(L, "require");
	lua_pushliteral(L, "nslab.repl");
	if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
		fprintf(stderr, "%s\n", luaL_tolstring(L, -1, NULL));
		fflush(stderr);
		lua_pop(L, 2);
		return;
	}
	module_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Pushes the module's function name below the nargs arguments on top;
 * returns 0 (popping the arguments) when there is none. */
static int push_fn(lua_State *L, const char *name, int nargs)
{
	if (module_ref == LUA_NOREF) {
		lua_pop(L, nargs);
		return 0;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref);
	if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
		lua_pop(L, nargs + 2);
		return 0;
	}
	lua_remove(L, -2);
	lua_insert(L, -1 - nargs);
	return 1;
}

int repl_node_command(lua_State *L, const char *line)
{
	int top = lua_gettop(L), handled;

	lua_pushstring(L, line);
	if (!push_fn(L, "line", 1))
		return 0;
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		/* it was a node command: starting or waiting for it failed */
		fprintf(stderr, "%s\n", luaL_tolstring(L, -1, NULL));
		fflush(stderr);
		handled = 1;
	} else {
		handled = lua_toboolean(L, -1);
	}
	/* Ctrl-C stopped the command, not the session (nor the next one). */
	if (handled)
		host_clear_signal();
	lua_settop(L, top);
	return handled;
}

void repl_node_globals(lua_State *L)
{
	if (push_fn(L, "globals", 0) && lua_pcall(L, 0, 0, 0) != LUA_OK)
		lua_pop(L, 1);
}

void repl_show_labs(lua_State *L)
{
	if (!push_fn(L, "help", 0))
		return;
	if (lua_pcall(L, 0, 1, 0) == LUA_OK && lua_isstring(L, -1))
		fputs(lua_tostring(L, -1), stdout);
	lua_pop(L, 1);
}

int repl_node_complete(lua_State *L, const char *before, size_t len,
		       const char *part)
{
	int top = lua_gettop(L), only = 0;

	lua_pushlstring(L, before, len);
	lua_pushstring(L, part);
	if (push_fn(L, "complete", 2) && lua_pcall(L, 2, 2, 0) == LUA_OK &&
	    lua_istable(L, -2)) {
		only = lua_toboolean(L, -1);
		lua_pop(L, 1);
		return only;
	}
	lua_settop(L, top);
	lua_newtable(L);
	return 0;
}
