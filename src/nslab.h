/*
 * nslab.h - the module's entry point, for programs that embed it (the
 * nslab host preloads it; lua5.4 loads nslab.so through require).
 */
#ifndef NSLAB_H
#define NSLAB_H

#include <lua.h>

#define NSLAB_VERSION "0.1.0"

/*
 * luaopen_nslab(L) -> the nslab module table: opens nslab.core (below)
 * and runs the embedded lua/nslab/init.lua.
 */
int luaopen_nslab(lua_State *L);

/*
 * luaopen_nslab_core(L) -> the table of C facilities, package.loaded
 * ["nslab.core"] (opened once per state), with the embedded Lua modules
 * (nslab.lab, ...) put into package.preload. The host preloads it so an
 * init.lua found on -I or NSLAB_PATH can require it.
 */
int luaopen_nslab_core(lua_State *L);

#endif
