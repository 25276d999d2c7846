/*
 * neigh.c - reading neighbour (ARP and NDP cache) entries: the parser
 * that turns an RTM_NEWNEIGH or RTM_DELNEIGH message into a Lua table
 * with the names `ip neigh` prints (states in capitals, as iproute2).
 *
 * Netlink: struct ndmsg, NDA_DST, NDA_LLADDR. Read: rtnetlink(7),
 * ip-neighbour(8), linux/neighbour.h.
 */
#define _GNU_SOURCE
#include <string.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "net/inet.h"
#include "net/link.h"
#include "net/neigh.h"

/* NUD_* bits as `ip neigh` names them. */
static const struct opt_name neigh_states[] = {
    {"INCOMPLETE", NUD_INCOMPLETE},
    {"REACHABLE", NUD_REACHABLE},
    {"STALE", NUD_STALE},
    {"DELAY", NUD_DELAY},
    {"PROBE", NUD_PROBE},
    {"FAILED", NUD_FAILED},
    {"NOARP", NUD_NOARP},
    {"PERMANENT", NUD_PERMANENT},
    {NULL, 0},
};

/* Pushes the state bits as text: one name, several joined by ",", or
 * "NONE" (NUD_NONE) as ip prints it. */
static void push_state(lua_State *L, unsigned int state)
{
	luaL_Buffer b;
	int n = 0;

	luaL_buffinit(L, &b);
	for (const struct opt_name *s = neigh_states; s->name; s++) {
		if (!(state & s->value))
			continue;
		if (n++)
			luaL_addchar(&b, ',');
		luaL_addstring(&b, s->name);
	}
	if (!n)
		luaL_addstring(&b, "NONE");
	luaL_pushresult(&b);
}

int neigh_push_msg(lua_State *L, const struct nlmsghdr *nlh, int names)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	int family, has_dst = 0;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*nd))
		return 0;
	family = nd->ndm_family;
	if (family != AF_INET && family != AF_INET6)
		return 0; /* bridge fdb entries (AF_BRIDGE) are not neighbours
			   */
	lua_createtable(L, 0, 8);
	lua_pushstring(L, inet_family_name(family));
	lua_setfield(L, -2, "family");
	lua_pushinteger(L, nd->ndm_ifindex);
	lua_setfield(L, -2, "ifindex");
	lua_rawgeti(L, names, nd->ndm_ifindex);
	lua_setfield(L, -2, "ifname");
	mnl_attr_for_each (a, nlh, sizeof(*nd)) {
		switch (mnl_attr_get_type(a)) {
		case NDA_DST:
			if (mnl_attr_get_payload_len(a) != inet_len(family))
				break;
			inet_push(L, family, mnl_attr_get_payload(a));
			lua_setfield(L, -2, "dst");
			has_dst = 1;
			break;
		case NDA_LLADDR:
			link_set_hwaddr(L, "lladdr", a);
			break;
		}
	}
	if (!has_dst) {
		lua_pop(L, 1);
		return 0;
	}
	push_state(L, nd->ndm_state);
	lua_setfield(L, -2, "state");
	lua_pushboolean(L, (nd->ndm_flags & NTF_ROUTER) != 0);
	lua_setfield(L, -2, "router");
	return 1;
}
