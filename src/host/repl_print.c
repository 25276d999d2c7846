/*
 * repl_print.c - how the REPL shows results. Everything goes through the
 * global print, as in lua(1), except plain tables (no __tostring, no
 * __name), which become a one-line summary instead of "table: 0x...":
 *   {1, 2, 3, mtu = 1500, name = "veth0", peer = {...}}
 * Array items first, then the other keys sorted ("name" first); nested plain
 * tables are summarised too, two levels deep; long tables end in "... (N
 * more)". Functions inside a summary show as "function". Labs, nodes and error
 * objects print through their own __tostring.
 */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "host/host.h"
#include "host/repl.h"

#define MAX_DEPTH	 2
#define MAX_ITEMS_TOP	 24
#define MAX_ITEMS_NESTED 8
#define MAX_SORTED	 256 /* beyond this many keys, no sorting */

/* Whether the value at idx is a table that prints as "table: 0x...". */
static int is_plain_table(lua_State *L, int idx)
{
	int top = lua_gettop(L), plain;

	if (!lua_istable(L, idx))
		return 0;
	if (!lua_getmetatable(L, idx))
		return 1;
	plain = lua_getfield(L, -1, "__tostring") == LUA_TNIL &&
		lua_getfield(L, -2, "__name") == LUA_TNIL;
	lua_settop(L, top);
	return plain;
}

int repl_is_identifier(const char *s)
{
	static const char *const keywords[] = {
	    "and",   "break", "do",	  "else",  "elseif", "end",
	    "false", "for",   "function", "goto",  "if",     "in",
	    "local", "nil",   "not",	  "or",	   "repeat", "return",
	    "then",  "true",  "until",	  "while", NULL};

	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (const char *p = s; *p; p++)
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return 0;
	for (int i = 0; keywords[i]; i++)
		if (!strcmp(s, keywords[i]))
			return 0;
	return 1;
}

static void push_summary(lua_State *L, int idx, int depth);

/* Pushes s quoted as %q does, for keys and values inside a summary. */
static void push_quoted(lua_State *L, int idx)
{
	size_t len;
	const char *s = lua_tolstring(L, idx, &len);
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	luaL_addchar(&b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			luaL_addchar(&b, '\\');
			luaL_addchar(&b, (char)c);
		} else if (c == '\n') {
			luaL_addstring(&b, "\\n");
		} else if (c < 32 || c == 127) {
			char esc[8];

			snprintf(esc, sizeof(esc), "\\%u", c);
			luaL_addstring(&b, esc);
		} else {
			luaL_addchar(&b, (char)c);
		}
	}
	luaL_addchar(&b, '"');
	luaL_pushresult(&b);
}

/* Pushes the value at idx as it reads inside a summary. */
static void push_value(lua_State *L, int idx, int depth)
{
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) == LUA_TSTRING)
		push_quoted(L, idx);
	else if (lua_type(L, idx) == LUA_TFUNCTION)
		lua_pushliteral(L, "function"); /* its address tells nothing */
	else if (!is_plain_table(L, idx))
		luaL_tolstring(L, idx, NULL);
	else if (depth >= MAX_DEPTH)
		lua_pushliteral(L, "{...}");
	else
		push_summary(L, idx, depth + 1);
}

/* Pushes "k = " or "[k] = " for the key at idx. */
static void push_key(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) == LUA_TSTRING &&
	    repl_is_identifier(lua_tostring(L, idx))) {
		lua_pushfstring(L, "%s = ", lua_tostring(L, idx));
		return;
	}
	if (lua_type(L, idx) == LUA_TSTRING)
		push_quoted(L, idx);
	else
		luaL_tolstring(L, idx, NULL);
	lua_pushfstring(L, "[%s] = ", lua_tostring(L, -1));
	lua_remove(L, -2);
}

/* Order of key texts: "name = " first (it says which object this is),
 * then by byte value. */
static int key_before(const char *a, const char *b)
{
	if (!strcmp(b, "name = "))
		return 0;
	return !strcmp(a, "name = ") || strcmp(a, b) < 0;
}

/* Insertion sort of the key texts in the array at idx, 1..n (n small). */
static void sort_strings(lua_State *L, int idx, lua_Integer n)
{
	for (lua_Integer i = 2; i <= n; i++) {
		lua_Integer j = i;

		lua_rawgeti(L, idx, i);
		while (j > 1) {
			lua_rawgeti(L, idx, j - 1);
			if (!key_before(lua_tostring(L, -2),
					lua_tostring(L, -1))) {
				lua_pop(L, 1);
				break;
			}
			lua_rawseti(L, idx, j--);
		}
		lua_rawseti(L, idx, j);
	}
}

/*
 * Pushes "{a, b, k = v, ...}" for the plain table at idx. The keys beyond
 * the array part are gathered as their "k = " texts (with a text -> key
 * map) and sorted by text; then the pieces are concatenated.
 */
static void push_summary(lua_State *L, int idx, int depth)
{
	lua_Integer max = depth == 0 ? MAX_ITEMS_TOP : MAX_ITEMS_NESTED;
	lua_Integer len = (lua_Integer)lua_rawlen(L, idx), nkeys = 0;
	lua_Integer shown = 0, sorted;
	int texts, base;

	idx = lua_absindex(L, idx);
	luaL_checkstack(L, (int)(3 * max + 8), "table too deep to show");
	lua_newtable(L); /* text -> key */
	lua_newtable(L); /* array of texts */
	texts = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
		    lua_tointeger(L, -1) <= len)
			continue;
		if (++nkeys > MAX_SORTED)
			continue;
		push_key(L, -1);
		lua_pushvalue(L, -1);
		lua_rawseti(L, texts, nkeys);
		lua_pushvalue(L, -2);
		lua_rawset(L, texts - 1);
	}
	sorted = nkeys < MAX_SORTED ? nkeys : MAX_SORTED;
	sort_strings(L, texts, sorted);
	base = lua_gettop(L) + 1;
	lua_pushliteral(L, "{");
	for (lua_Integer i = 1; i <= len && shown < max; i++, shown++) {
		if (shown)
			lua_pushliteral(L, ", ");
		lua_rawgeti(L, idx, i);
		push_value(L, -1, depth);
		lua_remove(L, -2);
	}
	for (lua_Integer i = 1; i <= sorted && shown < max; i++, shown++) {
		if (shown)
			lua_pushliteral(L, ", ");
		lua_rawgeti(L, texts, i);
		lua_pushvalue(L, -1);
		lua_rawget(L, texts - 1);
		lua_rawget(L, idx);
		push_value(L, -1, depth);
		lua_remove(L, -2);
	}
	if (len + nkeys > shown)
		lua_pushfstring(L, "%s... (%I more)", shown ? ", " : "",
				(LUAI_UACINT)(len + nkeys - shown));
	lua_pushliteral(L, "}");
	lua_concat(L, lua_gettop(L) - base + 1);
	lua_replace(L, texts - 1);
	lua_settop(L, texts - 1);
}

/* lua_CFunction (v): v's summary when it is a plain table, else v. */
static int l_show(lua_State *L)
{
	if (is_plain_table(L, 1))
		push_summary(L, 1, 0);
	else
		lua_settop(L, 1);
	return 1;
}

void repl_print(lua_State *L)
{
	int n = lua_gettop(L);

	if (n == 0)
		return;
	luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
	for (int i = 1; i <= n; i++) {
		lua_pushcfunction(L, l_show);
		lua_pushvalue(L, i);
		if (lua_pcall(L, 1, 1, 0) == LUA_OK)
			lua_replace(L, i);
		else
			lua_pop(L, 1);
	}
	lua_getglobal(L, "print");
	lua_insert(L, 1);
	if (lua_pcall(L, n, 0, 0) != LUA_OK) {
		fprintf(stderr, "error calling 'print' (%s)\n",
			lua_tostring(L, -1));
		fflush(stderr);
		lua_pop(L, 1);
	}
}
