/*
 * nslab.h - the module's entry point, for programs that embed it (the
 * nslab host preloads it; lua5.4 loads nslab.so through require).
 */
#ifndef NSLAB_H
#define NSLAB_H

#include <lua.h>

#define NSLAB_VERSION "0.1.0"

/* luaopen_nslab(L) -> the nslab module table (lua/nslab/init.lua's). */
int luaopen_nslab(lua_State *L);

#endif
