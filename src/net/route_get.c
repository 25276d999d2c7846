/*
 * route_get.c - the route the kernel would take to one address, as
 * `ip route get` asks it (RTM_GETROUTE for a single destination, answered
 * with one RTM_NEWROUTE), and the state of the neighbour entry (ARP or
 * NDP) of the next hop it names (RTM_GETNEIGH by NDA_DST and ifindex,
 * Linux 4.20+), so a caller can tell "no route" from "no ARP answer".
 *
 * Read: rtnetlink(7) (RTM_GETROUTE, RTM_GETNEIGH), ip-route(8) (route
 * get), ip-neighbour(8) (NUD states).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "net/inet.h"
#include "net/net.h"

static const struct opt_name nud_states[] = {
    {"incomplete", NUD_INCOMPLETE},
    {"reachable", NUD_REACHABLE},
    {"stale", NUD_STALE},
    {"delay", NUD_DELAY},
    {"probe", NUD_PROBE},
    {"failed", NUD_FAILED},
    {"noarp", NUD_NOARP},
    {"permanent", NUD_PERMANENT},
    {"none", NUD_NONE},
    {NULL, 0},
};

/* What the RTM_NEWROUTE answer said. */
struct route_got {
	int family, type, oif, has_via, has_src, table;
	unsigned int mtu;
	unsigned char via[16], src[16];
};

static int got_metrics(const struct nlattr *nest, struct route_got *g)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested (a, nest)
		if (mnl_attr_get_type(a) == RTAX_MTU &&
		    mnl_attr_get_payload_len(a) == 4)
			g->mtu = mnl_attr_get_u32(a);
	return 0;
}

static int got_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_got *g = data;
	const struct nlattr *a;
	size_t alen = inet_len(rtm->rtm_family);

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	g->family = rtm->rtm_family;
	g->type = rtm->rtm_type;
	g->table = rtm->rtm_table;
	mnl_attr_for_each (a, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(a)) {
		case RTA_OIF:
			if (mnl_attr_get_payload_len(a) == 4)
				g->oif = (int)mnl_attr_get_u32(a);
			break;
		case RTA_GATEWAY:
			if (mnl_attr_get_payload_len(a) == alen) {
				memcpy(g->via, mnl_attr_get_payload(a), alen);
				g->has_via = 1;
			}
			break;
		case RTA_PREFSRC:
			if (mnl_attr_get_payload_len(a) == alen) {
				memcpy(g->src, mnl_attr_get_payload(a), alen);
				g->has_src = 1;
			}
			break;
		case RTA_TABLE:
			if (mnl_attr_get_payload_len(a) == 4)
				g->table = (int)mnl_attr_get_u32(a);
			break;
		case RTA_METRICS:
			got_metrics(a, g);
			break;
		}
	}
	return MNL_CB_OK;
}

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWNEIGH)
		*(int *)data = ndm->ndm_state;
	return MNL_CB_OK;
}

/* The NUD state of addr on ifindex in c's netns, or -1 (none, or the
 * kernel cannot look one up). */
static int neigh_state(struct nl_conn *c, int family, int ifindex,
		       const unsigned char *addr)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;
	struct nl_err e;
	int state = -1;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (unsigned char)family;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, inet_len(family), addr);
	if (nl_run(c, buf, nlh->nlmsg_len, neigh_cb, &state, &e) < 0)
		return -1;
	return state;
}

static const char *const get_fields[] = {"netns", "dst", NULL};

/*
 * route.get{netns =, dst =} -> {dst, type, dev, via, src, table, mtu,
 * neigh}: the route to one address (no prefixlen), as `ip route get`.
 * neigh is the NUD state ("reachable", "incomplete", "failed", ...) of
 * the next hop (via, or dst itself on a link), absent when there is no
 * entry. Raises the kernel's refusal (ENETUNREACH: no route).
 */
static int l_route_get(lua_State *L)
{
	struct route_got g = {0};
	struct inet_addr d;
	char buf[256];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct nl_conn *c;
	struct nl_err e;
	const char *netns, *dst;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	nslab_check_fields(L, 1, get_fields);
	dst = inet_opt_dst(L, 1, "route.get", &netns, &d);
	c = nslab_conn(L, "route.get", dst, netns);

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)d.family;
	rtm->rtm_dst_len = (unsigned char)(inet_len(d.family) * 8);
	mnl_attr_put(nlh, RTA_DST, inet_len(d.family), d.bytes);
	if (nl_run(c, buf, nlh->nlmsg_len, got_cb, &g, &e) < 0)
		return nslab_raise_nl(L, "route.get", dst, netns, &e);

	lua_createtable(L, 0, 8);
	inet_push(L, d.family, d.bytes);
	lua_setfield(L, -2, "dst");
	lua_pushstring(L, inet_family_name(d.family));
	lua_setfield(L, -2, "family");
	inet_set_named(L, -1, "type", route_types, (unsigned int)g.type);
	if (g.table) {
		lua_pushinteger(L, g.table);
		lua_setfield(L, -2, "table");
	}
	if (g.has_via) {
		inet_push(L, d.family, g.via);
		lua_setfield(L, -2, "via");
	}
	if (g.has_src) {
		inet_push(L, d.family, g.src);
		lua_setfield(L, -2, "src");
	}
	if (g.mtu) {
		lua_pushinteger(L, g.mtu);
		lua_setfield(L, -2, "mtu");
	}
	if (g.oif) {
		int state;

		inet_push_ifnames(L, c, "route.get", netns);
		lua_rawgeti(L, -1, g.oif);
		lua_setfield(L, -3, "dev");
		lua_pop(L, 1);
		state = neigh_state(c, d.family, g.oif,
				    g.has_via ? g.via : d.bytes);
		if (state >= 0)
			inet_set_named(L, -1, "neigh", nud_states,
				       (unsigned int)state);
	}
	return 1;
}

static const luaL_Reg funcs[] = {
    {"get", l_route_get},
    {NULL, NULL},
};

/* Adds get to core.route (opened by route.c first). */
void nslab_open_route_get(lua_State *L)
{
	lua_getfield(L, -2, "route");
	lua_pushvalue(L, -2);
	nslab_setfuncs(L, "route", funcs, 1);
	lua_pop(L, 1);
}
