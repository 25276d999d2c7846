/*
 * linit.c - luaopen_nslab and luaopen_nslab_core and nothing else: the
 * table of C facilities that fill nslab.core, and the Lua library
 * embedded at build time (embed.c, generated from lua/nslab/ by
 * tools/embed.lua) put into package.preload. The embedded copy is the
 * library's one delivery; the nslab host lets files on -I or NSLAB_PATH
 * override it for development (src/host/main.c). As Lua's own linit.c,
 * this file only registers.
 *
 * Read: Lua 5.4 manual 4 and 6.3 (package.preload).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "embed.h"
#include "nslab.h"
#include "exec/exec.h"
#include "lab/lab.h"
#include "net/net.h"

/* Loader for one embedded Lua file: upvalue 1 is its index. */
static int load_embedded(lua_State *L)
{
	const struct nslab_embedded *e =
	    &nslab_embedded[lua_tointeger(L, lua_upvalueindex(1))];
	char chunk[128];

	snprintf(chunk, sizeof(chunk), "@[nslab]/%s", e->path);
	if (luaL_loadbuffer(L, e->src, e->len, chunk) != LUA_OK)
		return lua_error(L);
	lua_pushstring(L, e->name);
	lua_call(L, 1, 1);
	return 1;
}

/* The C facilities, each filling core.<name>. */
static const struct {
	const char *name;
	void (*open)(lua_State *L);
} facilities[] = {
    {"netns", nslab_open_netns},   {"link", nslab_open_link},
    {"addr", nslab_open_addr},	   {"route", nslab_open_route},
    {"sysctl", nslab_open_sysctl}, {"exec", nslab_open_exec},
    {"inet", nslab_open_inet},	   {"record", nslab_open_record},
    {"tc", nslab_open_tc},	   {"cgroup", nslab_open_cgroup},
    {"icmp", nslab_open_icmp},	   {"route.get", nslab_open_route_get},
    {"sock", nslab_open_sock},	   {"monitor", nslab_open_monitor},
    {"batch", nslab_open_batch},
};

int luaopen_nslab_core(lua_State *L)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	if (lua_getfield(L, -1, "nslab.core") == LUA_TTABLE)
		return 1; /* one state, one nl cache: opened once */
	lua_pop(L, 2);

	nslab_err_open(L);
	nslab_core_open(L); /* [core, state] */
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		facilities[i].open(L);
	lua_pop(L, 1);

	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_pushvalue(L, -2);
	lua_setfield(L, -2, "nslab.core");
	lua_pop(L, 1); /* LOADED: package.loaded holds core now */

	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	for (int i = 0; nslab_embedded[i].name; i++) {
		if (!strcmp(nslab_embedded[i].name, "nslab"))
			continue; /* luaopen_nslab runs it */
		lua_pushinteger(L, i);
		lua_pushcclosure(L, load_embedded, 1);
		lua_setfield(L, -2, nslab_embedded[i].name);
	}
	lua_pop(L, 1);
	return 1;
}

int luaopen_nslab(lua_State *L)
{
	luaopen_nslab_core(L);
	lua_pop(L, 1);
	for (int i = 0; nslab_embedded[i].name; i++) {
		if (!strcmp(nslab_embedded[i].name, "nslab")) {
			lua_pushinteger(L, i);
			lua_pushcclosure(L, load_embedded, 1);
			lua_call(L, 0, 1);
			return 1;
		}
	}
	return luaL_error(L, "nslab: lua/nslab/init.lua not embedded");
}
