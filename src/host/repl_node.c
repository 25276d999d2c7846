/*
 * repl_node.c - the REPL's view of open labs: node commands ("red ping -c1
 * blue" runs "ping -c1 10.0.0.2" in red's netns, as Mininet's CLI does),
 * node names for completion and the lab list of "help".
 *
 * Uses the lab contract only: require("nslab.lab").active() -> open labs,
 * lab.name, lab.nodes, lab:node(name), node.name, node.netns,
 * node:first_addr(); commands run through nslab.exec(netns, argv,
 * {capture = false}) so their output reaches the terminal as it comes.
 * When the lab layer was never loaded no lab can be open: nothing is
 * looked up. Read: ip-netns(8) ("ip netns exec" is what a node command
 * does).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "host/host.h"
#include "host/repl.h"

/* Pushes the array of open labs; returns 0 (pushing nothing) when the lab
 * layer is not loaded. Raises what active() raises. */
static int push_labs(lua_State *L)
{
	int top = lua_gettop(L);

	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	if (lua_getfield(L, -1, "nslab.lab") != LUA_TTABLE ||
	    lua_getfield(L, -1, "active") != LUA_TFUNCTION) {
		lua_settop(L, top);
		return 0;
	}
	lua_call(L, 0, 1);
	lua_replace(L, top + 1);
	lua_settop(L, top + 1);
	if (!lua_istable(L, -1)) {
		lua_settop(L, top);
		return 0;
	}
	return 1;
}

/* Pushes the node called name in one of the labs at index labs (first lab
 * first), or returns 0. Raises what lab:node raises. */
static int push_node(lua_State *L, int labs, const char *name, size_t len)
{
	for (lua_Integer i = 1; lua_rawgeti(L, labs, i) != LUA_TNIL; i++) {
		lua_getfield(L, -1, "node");
		lua_insert(L, -2);
		lua_pushlstring(L, name, len);
		lua_call(L, 2, 1);
		if (!lua_isnil(L, -1))
			return 1;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return 0;
}

/* lua_CFunction (word) -> node or nothing. */
static int l_find_node(lua_State *L)
{
	size_t len;
	const char *name = luaL_checklstring(L, 1, &len);

	if (!push_labs(L) || !push_node(L, lua_gettop(L), name, len))
		return 0;
	return 1;
}

/* Whether cmd ends with a lone '&' (a background job, not "&&"); if so
 * its length without it and the blanks before. */
static size_t background_len(const char *cmd, size_t len)
{
	while (len && isspace((unsigned char)cmd[len - 1]))
		len--;
	if (len < 2 || cmd[len - 1] != '&' || cmd[len - 2] == '&')
		return 0;
	len--;
	while (len && isspace((unsigned char)cmd[len - 1]))
		len--;
	return len;
}

/* Prints how a foreground node command ended when it failed, as shells
 * show "$?": "[exit 3]" or "[killed by SIGTERM]". Result at idx. */
static void report_status(lua_State *L, int idx)
{
	if (lua_getfield(L, idx, "signal") == LUA_TSTRING)
		fprintf(stderr, "[killed by %s]\n", lua_tostring(L, -1));
	else if (lua_getfield(L, idx, "status") == LUA_TNUMBER &&
		 lua_tointeger(L, -1) != 0)
		fprintf(stderr, "[exit %d]\n", (int)lua_tointeger(L, -1));
	fflush(stderr);
}

/*
 * lua_CFunction (node, rest): replaces each word of rest that names a node
 * by that node's first address, then runs it with sh -c in node.netns,
 * output and input left on the terminal, and reports a failing status. A
 * command ending in '&' is started in the background as node:spawn, so the
 * lab owns it and stops it when it closes. Raises what exec raises.
 */
static int l_run(lua_State *L)
{
	const char *p = luaL_checkstring(L, 2);
	size_t len, bg;
	int labs, acc;

	lua_settop(L, 2);
	if (!push_labs(L))
		lua_newtable(L);
	labs = lua_gettop(L);
	lua_pushliteral(L, "");
	acc = lua_gettop(L);
	while (*p) {
		size_t n = strcspn(p, " \t");

		if (n == 0)
			n = strspn(p, " \t");
		else if (push_node(L, labs, p, n)) {
			lua_getfield(L, -1, "first_addr");
			lua_insert(L, -2);
			lua_call(L, 1, 1);
			if (lua_type(L, -1) != LUA_TSTRING) {
				lua_pop(L, 1);
				lua_pushlstring(L, p, n);
			}
		}
		if (lua_gettop(L) == acc)
			lua_pushlstring(L, p, n);
		lua_concat(L, 2);
		p += n;
	}
	p = lua_tolstring(L, acc, &len);
	bg = background_len(p, len);
	lua_createtable(L, 3, 0);
	lua_pushliteral(L, "/bin/sh");
	lua_rawseti(L, -2, 1);
	lua_pushliteral(L, "-c");
	lua_rawseti(L, -2, 2);
	lua_pushlstring(L, p, bg ? bg : len);
	lua_rawseti(L, -2, 3);
	fflush(stdout);
	if (bg) {
		lua_getfield(L, 1, "spawn"); /* node:spawn(argv, opts) */
		lua_pushvalue(L, 1);
		lua_pushvalue(L, -3);
		lua_createtable(L, 0, 1);
		lua_pushboolean(L, 0);
		lua_setfield(L, -2, "capture");
		lua_call(L, 3, 1);
		lua_getfield(L, -1, "pid");
		lua_getfield(L, 1, "name");
		printf(
		    "[%lld] started in %s; its lab stops it when it closes\n",
		    (long long)lua_tointeger(L, -2), lua_tostring(L, -1));
		fflush(stdout);
		return 0;
	}
	lua_getglobal(L, "require");
	lua_pushliteral(L, "nslab");
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "exec");
	lua_getfield(L, 1, "netns");
	lua_pushvalue(L, -4); /* argv */
	lua_createtable(L, 0, 1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "capture");
	lua_call(L, 3, 1);
	report_status(L, lua_gettop(L));
	return 0;
}

/*
 * Whether line has a node command's form even though it may parse as Lua
 * ("red /bin/hostname", "red -h", 'red "x"'): a first word followed by
 * blanks and more, other than an assignment ("red = 1"). Lua on a node is
 * written without a blank after the name: red:ping(blue), red.netns.
 * Whether the word names a node is repl_node_command's to find out.
 */
int repl_node_form(const char *line)
{
	size_t n, gap;
	const char *rest;

	while (isspace((unsigned char)*line))
		line++;
	n = strcspn(line, " \t");
	gap = strspn(line + n, " \t");
	rest = line + n + gap;
	return n > 0 && gap > 0 && *rest && !(rest[0] == '=' && rest[1] != '=');
}

int repl_node_command(lua_State *L, const char *line)
{
	size_t n;
	int top = lua_gettop(L), status;

	while (isspace((unsigned char)*line))
		line++;
	n = strcspn(line, " \t");
	if (n == 0 || line[n + strspn(line + n, " \t")] == '\0')
		return 0;
	lua_pushcfunction(L, l_find_node);
	lua_pushlstring(L, line, n);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_isnil(L, -1)) {
		lua_settop(L, top);
		return 0;
	}
	lua_pushcfunction(L, l_run);
	lua_insert(L, -2);
	line += n;
	lua_pushstring(L, line + strspn(line, " \t"));
	status = lua_pcall(L, 2, 0, 0);
	if (status != LUA_OK) {
		const char *msg = luaL_tolstring(L, -1, NULL);

		fprintf(stderr, "%s\n", msg);
		fflush(stderr);
	}
	/* Ctrl-C stopped the command, not the session (nor the next one). */
	host_clear_signal();
	lua_settop(L, top);
	return 1;
}

/* lua_CFunction () -> array of the names of all nodes of open labs. */
static int l_node_names(lua_State *L)
{
	lua_Integer k = 0;

	lua_newtable(L);
	if (!push_labs(L))
		return 1;
	for (lua_Integer i = 1; lua_rawgeti(L, 2, i) == LUA_TTABLE; i++) {
		lua_getfield(L, 3, "nodes");
		for (lua_Integer j = 1;
		     lua_istable(L, 4) && lua_rawgeti(L, 4, j) != LUA_TNIL;
		     j++) {
			if (lua_getfield(L, 5, "name") == LUA_TSTRING)
				lua_rawseti(L, 1, ++k);
			lua_settop(L, 4);
		}
		lua_settop(L, 2);
	}
	lua_settop(L, 1);
	return 1;
}

void repl_push_node_names(lua_State *L)
{
	lua_pushcfunction(L, l_node_names);
	if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
		lua_pop(L, 1);
		lua_newtable(L);
	}
}

/* lua_CFunction (): sets a global per node, as repl_node_globals says. */
static int l_node_globals(lua_State *L)
{
	repl_push_node_names(L); /* 1 */
	if (!push_labs(L))	 /* 2 */
		return 0;
	for (lua_Integer i = 1; lua_rawgeti(L, 1, i) == LUA_TSTRING; i++) {
		size_t len;
		const char *name = lua_tolstring(L, 3, &len);

		if (repl_is_identifier(name) &&
		    lua_getglobal(L, name) == LUA_TNIL &&
		    push_node(L, 2, name, len))
			lua_setglobal(L, name);
		lua_settop(L, 2);
	}
	return 0;
}

void repl_node_globals(lua_State *L)
{
	lua_pushcfunction(L, l_node_globals);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK)
		lua_pop(L, 1);
}

/* lua_CFunction (): prints "Open labs:" and each lab's nodes. */
static int l_show_labs(lua_State *L)
{
	int any = 0;

	if (push_labs(L)) {
		for (lua_Integer i = 1; lua_rawgeti(L, 1, i) == LUA_TTABLE;
		     i++) {
			lua_getfield(L, 2, "name");
			printf("%s  %s:", any++ ? "" : "Open labs:\n",
			       luaL_tolstring(L, -1, NULL));
			lua_getfield(L, 2, "nodes");
			for (lua_Integer j = 1;
			     lua_istable(L, 5) &&
			     lua_rawgeti(L, 5, j) != LUA_TNIL;
			     j++) {
				lua_getfield(L, 6, "name");
				printf(" %s", luaL_tolstring(L, -1, NULL));
				lua_settop(L, 5);
			}
			printf("\n");
			lua_settop(L, 1);
		}
	}
	if (!any)
		printf("No lab is open: nslab.lab(\"name\") makes one.\n");
	return 0;
}

void repl_show_labs(lua_State *L)
{
	lua_pushcfunction(L, l_show_labs);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK)
		lua_pop(L, 1);
}
