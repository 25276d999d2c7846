/*
 * repl.h - what the REPL's files (repl.c, repl_print.c, repl_node.c,
 * repl_complete.c) share. All of it runs in the host only.
 */
#ifndef NSLAB_REPL_H
#define NSLAB_REPL_H

#include <lua.h>

/* repl_print.c: prints the values on the stack (1..top) through the
 * global print, plain tables as a one-line summary; empties the stack. */
void repl_print(lua_State *L);

/* Whether s is a Lua name (not a keyword). */
int repl_is_identifier(const char *s);

/*
 * repl_node.c: the bridge to lua/nslab/repl.lua, where the REPL's lab
 * policy lives. repl_node_open loads it (once, before the others; when it
 * fails they do nothing). None of them raises; only repl_node_complete
 * leaves a value on the stack.
 */
void repl_node_open(lua_State *L);

/* When line is a node command ("red ping -c1 blue": the first word names
 * a node of an open lab, then a blank), runs it in that node, reporting
 * how it failed, and returns 1; else returns 0 (the line is Lua). */
int repl_node_command(lua_State *L, const char *line);

/* For each node of an open lab whose name is a Lua name and not a global
 * yet, sets the global of that name to the node (red:ping(blue) works
 * after -i with a script that kept its nodes in locals). */
void repl_node_globals(lua_State *L);

/* Prints the open labs and their nodes (for "help"). */
void repl_show_labs(lua_State *L);

/* Pushes an array of the node names starting with part that fit where
 * Tab was pressed, before (len bytes) being the line before that word;
 * returns 1 when only they fit (a node command's arguments), 0 when they
 * join the other candidates (the first word; elsewhere there are none). */
int repl_node_complete(lua_State *L, const char *before, size_t len,
		       const char *part);

/* repl_complete.c: installs Tab completion for libedit on state L. */
void repl_complete_init(lua_State *L);

/* The interactive loop (repl.c); returns when input ends. */
void repl_run(lua_State *L);

#endif
