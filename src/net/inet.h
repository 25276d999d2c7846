/*
 * inet.h - what addr.c and route.c share: "address[/prefixlen]" text
 * checked for Lua (parsed by inet_parse, net/text.h), the names of scopes
 * (and other small number<->name tables), option fields read from Lua
 * tables, and ifindex<->ifname lookups raising error objects. Implemented
 * in inet.c.
 *
 * Read: inet_pton(3), rtnetlink(7) (rtm_scope), ip-address(8).
 */
#ifndef NSLAB_INET_H
#define NSLAB_INET_H

#include "core/core.h"
#include "net/text.h"

/* The scope names of rtm_scope and ifa_scope, as ip(8) prints them. */
extern const struct opt_name inet_scopes[];

/* The route type names of rtm_type (route.c). */
extern const struct opt_name route_types[];

/*
 * Reads the option table at idx: "netns" (optional, checked; stored in
 * *netns) and the required "dst", an address without prefixlen, parsed
 * into a. Returns dst's text. Raises an argument error when dst is
 * missing, an EINVAL error object for op when it is no address.
 */
const char *inet_opt_dst(lua_State *L, int idx, const char *op,
			 const char **netns, struct inet_addr *a);

/*
 * As inet_parse, raising an EINVAL error object for op/object/netns on
 * bad text. family (AF_UNSPEC = any) must match; len_ok = 0
 * refuses a "/len" (a gateway is an address, not a prefix).
 */
void inet_check(lua_State *L, const char *op, const char *object,
		const char *netns, const char *text, int family, int len_ok,
		struct inet_addr *a);

/* Pushes the address bytes of family as text ("10.0.0.1", "fd00::1"). */
void inet_push(lua_State *L, int family, const void *bytes);

/* The name of value in tab, or NULL. */
const char *inet_name_of(const struct opt_name *tab, unsigned int value);

/* Sets t[field] = name of value in tab, or the number when unnamed. */
void inet_set_named(lua_State *L, int t, const char *field,
		    const struct opt_name *tab, unsigned int value);

/*
 * The ifindex of ifname in c's namespace; raises the error object for
 * op/object/netns (ENODEV "no such interface") when there is none.
 */
int inet_ifindex(lua_State *L, struct nl_conn *c, const char *op,
		 const char *object, const char *netns, const char *ifname);

/*
 * Pushes a table ifindex -> ifname of every link in c's namespace
 * (RTM_GETLINK dump); raises the error object for op/netns on failure.
 */
void inet_push_ifnames(lua_State *L, struct nl_conn *c, const char *op,
		       const char *netns);

#endif
