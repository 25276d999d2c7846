/*
 * lab.h - C support for the Lua lab layer: the files and processes a lab
 * owns outside its namespaces (record.c: core.record).
 */
#ifndef NSLAB_LAB_H
#define NSLAB_LAB_H

#include <lua.h>

/* Fills core.record (record.c); stack [..., core, state] as net.h's. */
void nslab_open_record(lua_State *L);

#endif
