/*
 * path.h - the Lua search path of the nslab program (path.c).
 */
#ifndef NSLAB_HOST_PATH_H
#define NSLAB_HOST_PATH_H

#include <lua.h>

/*
 * Sets package.path and package.cpath: the -I dirs (incs), NSLAB_PATH
 * (unless noenv), then Lua's own; the -I dirs and NSLAB_PATH also
 * override the embedded library's modules, said on stderr (each one when
 * verbose, else the first).
 */
void path_set(lua_State *L, char **incs, int nincs, int noenv, int verbose);

/* Puts the built-in nslab and nslab.core in package.preload, and a
 * searcher that opens nslab.core before any other nslab.* module. */
void path_preload_nslab(lua_State *L);

#endif
