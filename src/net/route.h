/*
 * route.h - the route parser route.c shares with monitor.c.
 *
 * Read: rtnetlink(7), ip-route(8).
 */
#ifndef NSLAB_ROUTE_H
#define NSLAB_ROUTE_H

#include <lua.h>

#include <libmnl/libmnl.h>

/*
 * Pushes the table route.list gives for one RTM_NEWROUTE or RTM_DELROUTE
 * message (family, dst, via, src, metric, dev, onlink, table, scope,
 * proto, type), dev named through the table ifindex -> ifname at stack
 * index names (absolute). Returns 1, or 0 with nothing pushed for what
 * route.list leaves out: other families, cached (RTM_F_CLONED) routes,
 * a message shorter than its rtmsg.
 */
int route_push_msg(lua_State *L, const struct nlmsghdr *nlh, int names);

#endif
