/*
 * net.h - the kernel-object facilities, one file each: each fills
 * core.<name> in the module (linit.c calls these with the stack
 * [..., core, state]).
 */
#ifndef NSLAB_NET_H
#define NSLAB_NET_H

#include <lua.h>

void nslab_open_netns(lua_State *L);	 /* netns.c */
void nslab_open_link(lua_State *L);	 /* link.c */
void nslab_open_addr(lua_State *L);	 /* addr.c */
void nslab_open_route(lua_State *L);	 /* route.c */
void nslab_open_sysctl(lua_State *L);	 /* sysctl.c */
void nslab_open_inet(lua_State *L);	 /* inet_lib.c */
void nslab_open_tc(lua_State *L);	 /* tc.c */
void nslab_open_icmp(lua_State *L);	 /* icmp.c */
void nslab_open_route_get(lua_State *L); /* route_get.c: adds route.get */
void nslab_open_sock(lua_State *L);	 /* sock.c */
void nslab_open_monitor(lua_State *L);	 /* monitor.c */
void nslab_open_batch(lua_State *L);	 /* batch.c */

/* The fd of the private proc mount to open sysctls through (see
 * sysctl.c), or -1 to use /proc. */
struct nslab_state;
int sysctl_proc(struct nslab_state *st);

#endif
