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
 * repl_node.c: when the first word of line names a node of an open lab,
 * runs the rest in that node (reporting errors) and returns 1; else
 * returns 0. The stack is left as it was.
 */
int repl_node_command(lua_State *L, const char *line);

/* Whether line has a node command's form: a first word, then blanks and
 * more, not an assignment (repl_node_command finds whether it is a node). */
int repl_node_form(const char *line);

/* Pushes an array of the names of the nodes of all open labs. */
void repl_push_node_names(lua_State *L);

/* For each node of an open lab whose name is a Lua name and not a global
 * yet, sets the global of that name to the node (red:ping(blue) works
 * after -i with a script that kept its nodes in locals). */
void repl_node_globals(lua_State *L);

/* Prints the open labs and their nodes (for "help"). */
void repl_show_labs(lua_State *L);

/* repl_complete.c: installs Tab completion for libedit on state L. */
void repl_complete_init(lua_State *L);

/* The interactive loop (repl.c); returns when input ends. */
void repl_run(lua_State *L);

#endif
