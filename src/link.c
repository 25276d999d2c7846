/* link.c - placeholder until this facility lands. */
#include "nslab.h"

static const luaL_Reg funcs[] = {
    {NULL, NULL},
};

void nslab_open_link(lua_State *L)
{
	nslab_newlib(L, "link", funcs);
}
