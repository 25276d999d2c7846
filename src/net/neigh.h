/*
 * neigh.h - the neighbour entry parser (neigh.c), used by monitor.c.
 *
 * Read: rtnetlink(7), ip-neighbour(8).
 */
#ifndef NSLAB_NEIGH_H
#define NSLAB_NEIGH_H

#include <lua.h>

#include <libmnl/libmnl.h>

/*
 * Pushes the table of one RTM_NEWNEIGH or RTM_DELNEIGH message: family
 * ("inet", "inet6"), ifindex, ifname (through the table ifindex ->
 * ifname at absolute stack index names; nil when unknown), dst (the
 * neighbour's address), lladdr ("aa:bb:cc:dd:ee:ff", absent while
 * unresolved), state ("REACHABLE", "STALE", ... as ip neigh prints;
 * several joined by ","; "NONE") and router (NTF_ROUTER). Returns 1, or 0
 * with nothing pushed for other families (bridge fdb) and messages
 * without a destination.
 */
int neigh_push_msg(lua_State *L, const struct nlmsghdr *nlh, int names);

#endif
