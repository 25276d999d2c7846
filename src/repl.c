/*
 * repl.c - the interactive loop: each line is tried as "return <line>"
 * first, then as a statement; a syntax error ending in <eof> reads on.
 * Read: lua(1).
 */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "main.h"

#define EOFMARK "<eof>"

static int incomplete(lua_State *L, int status)
{
	size_t lmsg;
	const char *msg;

	if (status != LUA_ERRSYNTAX)
		return 0;
	msg = lua_tolstring(L, -1, &lmsg);
	if (lmsg >= sizeof(EOFMARK) - 1 &&
	    strcmp(msg + lmsg - (sizeof(EOFMARK) - 1), EOFMARK) == 0) {
		lua_pop(L, 1);
		return 1;
	}
	return 0;
}

static int readline_into(luaL_Buffer *b, const char *prompt)
{
	char line[4096];

	fputs(prompt, stdout);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	luaL_addstring(b, line);
	return 1;
}

void repl_run(lua_State *L)
{
	for (;;) {
		luaL_Buffer b;
		const char *code;
		int status;

		host_clear_signal();
		lua_settop(L, 0);
		luaL_buffinit(L, &b);
		if (!readline_into(&b, "> "))
			break;
		luaL_pushresult(&b);
		code = lua_pushfstring(L, "return %s", lua_tostring(L, 1));
		status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
		if (status != LUA_OK) {
			lua_pop(L, 2);
			for (;;) {
				size_t len;

				code = lua_tolstring(L, 1, &len);
				status =
				    luaL_loadbuffer(L, code, len, "=stdin");
				if (!incomplete(L, status))
					break;
				luaL_buffinit(L, &b);
				lua_pushvalue(L, 1);
				luaL_addvalue(&b);
				if (!readline_into(&b, ">> ")) {
					status = -1;
					break;
				}
				luaL_pushresult(&b);
				lua_replace(L, 1);
			}
			if (status == -1)
				break;
		}
		lua_remove(L, 1);
		if (status == LUA_OK)
			status = host_docall(L, 0, LUA_MULTRET);
		if (status == LUA_OK && lua_gettop(L) > 0) {
			lua_getglobal(L, "print");
			lua_insert(L, 1);
			if (lua_pcall(L, lua_gettop(L) - 1, 0, 0) != LUA_OK)
				host_report(L, LUA_ERRRUN);
		} else {
			host_report(L, status);
		}
	}
	lua_settop(L, 0);
	fputs("\n", stdout);
	fflush(stdout);
}
