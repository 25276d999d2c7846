/*
 * lab.h - C support for the Lua lab layer: the files and processes a lab
 * owns outside its namespaces (record.c: core.record; cgroup.c: core.cgroup).
 */
#ifndef NSLAB_LAB_H
#define NSLAB_LAB_H

#include <lua.h>

/* Fills core.record (record.c); stack [..., core, state] as net.h's. */
void nslab_open_record(lua_State *L);

/* Fills core.cgroup (cgroup.c): the cgroup directories of lab nodes. */
void nslab_open_cgroup(lua_State *L);

#endif
