/* addr.c - placeholder until this facility lands. */
#include "nslab.h"

static const luaL_Reg funcs[] = {
    {NULL, NULL},
};

void nslab_open_addr(lua_State *L)
{
	nslab_newlib(L, "addr", funcs);
}
