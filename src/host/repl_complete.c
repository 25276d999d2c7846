/*
 * repl_complete.c - Tab completion for the REPL, through libedit's
 * readline interface: globals, Lua keywords, REPL words and node names
 * for a first word; the fields of a table ("nslab.li" -> "nslab.link")
 * and the methods of an object ("red:pi" -> "red:ping"), walking dotted
 * and colon paths and the __index tables of metatables; node names for
 * the words of a node command ("red ping bl" -> "red ping blue").
 *
 * Only raw reads: completing never runs the user's code (no __index
 * function is called), so a Tab cannot hang or fail. The one call made is
 * nslab.repl's complete() for node names (lua/nslab/repl.lua), which only
 * reads the open labs. Read: editline(3).
 */
#ifdef NSLAB_HAVE_LIBEDIT
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <editline/readline.h>

#include <lauxlib.h>
#include <lua.h>

#include "host/repl.h"

#define MAX_CANDIDATES	4096
#define MAX_INDEX_CHAIN 16 /* __index tables followed, against loops */

/* libedit calls back without a user pointer: the state and candidates of
 * the one REPL live here. */
static lua_State *cstate;
static struct {
	char **v;
	size_t n, cap;
} cand;

static const char *const words[] = {
    "and",	"break",  "do",	  "else", "elseif", "end",   "false", "for",
    "function", "goto",	  "if",	  "in",	  "local",  "nil",   "not",   "or",
    "repeat",	"return", "then", "true", "until",  "while", NULL};

static const char *const repl_words[] = {"help", "exit", "quit", NULL};

static void cand_clear(void)
{
	for (size_t i = 0; i < cand.n; i++)
		free(cand.v[i]);
	cand.n = 0;
}

/* Adds prefix (plen bytes) + name, once. */
static void cand_add(const char *prefix, size_t plen, const char *name)
{
	size_t nlen = strlen(name);
	char *s;

	for (size_t i = 0; i < cand.n; i++)
		if (!strncmp(cand.v[i], prefix, plen) &&
		    !strcmp(cand.v[i] + plen, name))
			return;
	if (cand.n == cand.cap) {
		size_t cap = cand.cap ? 2 * cand.cap : 64;
		char **v;

		if (cap > MAX_CANDIDATES)
			return;
		v = realloc(cand.v, cap * sizeof(*v));
		if (!v)
			return;
		cand.v = v;
		cand.cap = cap;
	}
	s = malloc(plen + nlen + 1);
	if (!s)
		return;
	memcpy(s, prefix, plen);
	memcpy(s + plen, name, nlen + 1);
	cand.v[cand.n++] = s;
}

static void add_words(const char *const *list, const char *part)
{
	for (int i = 0; list[i]; i++)
		if (!strncmp(list[i], part, strlen(part)))
			cand_add("", 0, list[i]);
}

/* The generator libedit calls for each match (it frees what it gets). */
static char *cand_next(const char *text, int state)
{
	static size_t i;

	(void)text;
	if (state == 0)
		i = 0;
	return i < cand.n ? strdup(cand.v[i++]) : NULL;
}

/*
 * Replaces the value on top by its __index table, or pops it and returns
 * 0 when it has none (an __index function is not called).
 */
static int index_table(lua_State *L)
{
	if (!lua_getmetatable(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	lua_pushliteral(L, "__index");
	lua_rawget(L, -2);
	lua_replace(L, -3);
	lua_pop(L, 1);
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	return 1;
}

/* Replaces the value on top by its field key (raw, then __index tables),
 * or by nil. */
static void lookup(lua_State *L, const char *key, size_t klen)
{
	for (int depth = 0; depth < MAX_INDEX_CHAIN; depth++) {
		if (lua_istable(L, -1)) {
			lua_pushlstring(L, key, klen);
			if (lua_rawget(L, -2) != LUA_TNIL) {
				lua_remove(L, -2);
				return;
			}
			lua_pop(L, 1);
		}
		if (!index_table(L)) {
			lua_pushnil(L);
			return;
		}
	}
	lua_pop(L, 1);
	lua_pushnil(L);
}

/*
 * Adds prefix + each name field of the value on top (and of its __index
 * tables) that starts with part; functions only when methods is set.
 * Pops the value.
 */
static void add_fields(lua_State *L, const char *prefix, size_t plen,
		       const char *part, int methods)
{
	size_t partlen = strlen(part);

	for (int depth = 0; depth < MAX_INDEX_CHAIN; depth++) {
		if (lua_istable(L, -1)) {
			lua_pushnil(L);
			while (lua_next(L, -2)) {
				if (lua_type(L, -2) == LUA_TSTRING &&
				    (!methods ||
				     lua_type(L, -1) == LUA_TFUNCTION)) {
					const char *k = lua_tostring(L, -2);

					if (!strncmp(k, part, partlen) &&
					    repl_is_identifier(k))
						cand_add(prefix, plen, k);
				}
				lua_pop(L, 1);
			}
		}
		if (!index_table(L))
			return;
	}
	lua_pop(L, 1);
}

/* Adds the array of names on top, popping it. */
static void add_names(lua_State *L)
{
	for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
		cand_add("", 0, lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
}

/* Adds the completions of a path "a.b.c:pa" (text has a '.' or ':'). */
static void add_path(lua_State *L, const char *text)
{
	const char *last = text + strcspn(text, ".:"), *seg = text;
	const char *p;

	while ((p = strpbrk(last + 1, ".:")))
		last = p;
	lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
	while (seg < last) {
		size_t n = strcspn(seg, ".:");

		/* ':' may only come last: "a:b.c" names nothing */
		if (seg[n] == ':' && seg + n != last) {
			lua_pop(L, 1);
			return;
		}
		lookup(L, seg, n);
		seg += n + 1;
	}
	add_fields(L, text, (size_t)(last - text) + 1, last + 1, *last == ':');
}

static char **complete(const char *text, int start, int end)
{
	lua_State *L = cstate;
	int top = lua_gettop(L);

	(void)end;
	rl_attempted_completion_over = 1; /* never file names */
	cand_clear();
	if (!lua_checkstack(L, 16))
		return NULL;
	/* node names from nslab.repl, alone in a node command */
	if (repl_node_complete(L, rl_line_buffer, (size_t)start, text)) {
		add_names(L);
	} else if (strpbrk(text, ".:")) {
		add_path(L, text);
	} else {
		lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
		add_fields(L, "", 0, text, 0);
		add_words(words, text);
		if ((size_t)start == strspn(rl_line_buffer, " \t"))
			add_words(repl_words, text);
		lua_pushvalue(L, top + 1);
		add_names(L);
	}
	lua_settop(L, top);
	if (cand.n == 0)
		return NULL;
	return rl_completion_matches(text, cand_next);
}

void repl_complete_init(lua_State *L)
{
	/* no '-': node names and command options have it */
	static const char breaks[] = " \t\n\"'`<>=;,+*/%^~#&|(){}[]";

	cstate = L;
	rl_attempted_completion_function = complete;
	rl_basic_word_break_characters = breaks;
	rl_completer_word_break_characters = (char *)breaks;
	rl_completion_append_character = '\0';
}
#endif
