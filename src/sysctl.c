/* sysctl.c - placeholder until this facility lands. */
#include "nslab.h"

static const luaL_Reg funcs[] = {
    {NULL, NULL},
};

void nslab_open_sysctl(lua_State *L)
{
	nslab_newlib(L, "sysctl", funcs);
}
