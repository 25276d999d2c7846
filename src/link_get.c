/*
 * link_get.c - reading links: RTM_GETLINK for one link (by name or
 * ifindex) or a dump of a namespace, each answer turned into the Lua table
 * link.get/list return, with names and spellings as iproute2 prints them.
 *
 * Netlink: RTM_GETLINK (NLM_F_DUMP for list), IFLA_EXT_MASK with
 * RTEXT_FILTER_SKIP_STATS (no counters: smaller, faster answers).
 * Read: rtnetlink(7), ip-link(8), netdevice(7) for the IFF_* flags,
 * Documentation/networking/operstates.rst for IFLA_OPERSTATE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_link.h>

#include "link.h"

struct nlmsghdr *link_put_getlink(void *buf, const char *ifname, int ifindex)
{
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_put_request(buf, RTM_GETLINK, 0, &ifm);

	ifm->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (ifname)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	return nlh;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= IFLA_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

/* The u32 attribute a, or 0 when absent or too short. */
static uint32_t get_u32(const struct nlattr *a)
{
	if (!a || mnl_attr_get_payload_len(a) < sizeof(uint32_t))
		return 0;
	return mnl_attr_get_u32(a);
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

static void set_str(lua_State *L, const char *k, const char *v)
{
	lua_pushstring(L, v);
	lua_setfield(L, -2, k);
}

/* IFLA_OPERSTATE values, spelt as iproute2 prints them (RFC 2863). */
static const char *const operstates[] = {
    "UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN",
    "TESTING", "DORMANT",    "UP",
};

/* The ifi_flags iproute2 shows, in its order and spelling. */
static const struct {
	unsigned int bit;
	const char *name;
} flag_names[] = {
    {IFF_LOOPBACK, "LOOPBACK"},
    {IFF_BROADCAST, "BROADCAST"},
    {IFF_POINTOPOINT, "POINTOPOINT"},
    {IFF_MULTICAST, "MULTICAST"},
    {IFF_NOARP, "NOARP"},
    {IFF_ALLMULTI, "ALLMULTI"},
    {IFF_PROMISC, "PROMISC"},
    {IFF_MASTER, "MASTER"},
    {IFF_SLAVE, "SLAVE"},
    {IFF_DEBUG, "DEBUG"},
    {IFF_DYNAMIC, "DYNAMIC"},
    {IFF_AUTOMEDIA, "AUTOMEDIA"},
    {IFF_PORTSEL, "PORTSEL"},
    {IFF_NOTRAILERS, "NOTRAILERS"},
    {IFF_UP, "UP"},
    {1u << 16, "LOWER_UP"},
    {1u << 17, "DORMANT"},
    {1u << 18, "ECHO"},
};

static void push_flags(lua_State *L, unsigned int flags)
{
	int n = 0;

	lua_newtable(L);
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (flags & flag_names[i].bit) {
			lua_pushstring(L, flag_names[i].name);
			lua_rawseti(L, -2, ++n);
		}
	lua_setfield(L, -2, "flags");
}

/* Sets t[k] = "aa:bb:..." from a hardware address attribute. */
static void set_hwaddr(lua_State *L, const char *k, const struct nlattr *a)
{
	const unsigned char *p;
	char out[3 * 32];
	size_t len, o = 0;

	if (!a)
		return;
	len = mnl_attr_get_payload_len(a);
	if (len == 0 || len > 32)
		return;
	p = mnl_attr_get_payload(a);
	for (size_t i = 0; i < len; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o,
				      i ? ":%02x" : "%02x", p[i]);
	set_str(L, k, out);
}

/* Sets kind (and port_kind, e.g. "bridge" for a bridge port). */
static void set_kinds(lua_State *L, const struct nlattr *linkinfo)
{
	const struct nlattr *a;

	if (!linkinfo)
		return;
	mnl_attr_for_each_nested (a, linkinfo) {
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			continue;
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND)
			set_str(L, "kind", mnl_attr_get_str(a));
		else if (mnl_attr_get_type(a) == IFLA_INFO_SLAVE_KIND)
			set_str(L, "port_kind", mnl_attr_get_str(a));
	}
}

/*
 * Pushes the table for one RTM_NEWLINK: name, ifindex, kind, mtu,
 * min_mtu, max_mtu, address, broadcast, up, flags, operstate, carrier,
 * master_ifindex, peer_ifindex (veth) or link_ifindex, link_netnsid,
 * netns. master (the ifname) is filled in by the caller.
 */
static void push_link(lua_State *L, const struct nlmsghdr *nlh,
		      const char *netns)
{
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	uint32_t v;

	mnl_attr_parse(nlh, sizeof(*ifm), attr_cb, tb);
	lua_createtable(L, 0, 20);
	if (tb[IFLA_IFNAME] &&
	    mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0)
		set_str(L, "name", mnl_attr_get_str(tb[IFLA_IFNAME]));
	set_int(L, "ifindex", ifm->ifi_index);
	set_kinds(L, tb[IFLA_LINKINFO]);
	if (tb[IFLA_MTU])
		set_int(L, "mtu", get_u32(tb[IFLA_MTU]));
	if (tb[IFLA_MIN_MTU])
		set_int(L, "min_mtu", get_u32(tb[IFLA_MIN_MTU]));
	if (tb[IFLA_MAX_MTU])
		set_int(L, "max_mtu", get_u32(tb[IFLA_MAX_MTU]));
	set_hwaddr(L, "address", tb[IFLA_ADDRESS]);
	set_hwaddr(L, "broadcast", tb[IFLA_BROADCAST]);
	lua_pushboolean(L, (ifm->ifi_flags & IFF_UP) != 0);
	lua_setfield(L, -2, "up");
	push_flags(L, ifm->ifi_flags);
	if (tb[IFLA_OPERSTATE] &&
	    mnl_attr_get_payload_len(tb[IFLA_OPERSTATE]) >= 1) {
		uint8_t s = mnl_attr_get_u8(tb[IFLA_OPERSTATE]);

		set_str(L, "operstate",
			s < sizeof(operstates) / sizeof(operstates[0])
			    ? operstates[s]
			    : "UNKNOWN");
	}
	if (tb[IFLA_CARRIER] && mnl_attr_get_payload_len(tb[IFLA_CARRIER]))
		lua_pushboolean(L, mnl_attr_get_u8(tb[IFLA_CARRIER]) != 0),
		    lua_setfield(L, -2, "carrier");
	if ((v = get_u32(tb[IFLA_MASTER])) != 0)
		set_int(L, "master_ifindex", v);
	/* IFLA_LINK: a veth's peer (maybe in the netns link_netnsid names),
	 * else the parent of a macvlan/vlan; plain links name themselves. */
	if ((v = get_u32(tb[IFLA_LINK])) != 0) {
		int veth = lua_getfield(L, -1, "kind") == LUA_TSTRING &&
			   !strcmp(lua_tostring(L, -1), "veth");

		lua_pop(L, 1);
		if (veth)
			set_int(L, "peer_ifindex", v);
		else if ((int)v != ifm->ifi_index || tb[IFLA_LINK_NETNSID])
			set_int(L, "link_ifindex", v);
	}
	if (tb[IFLA_LINK_NETNSID] &&
	    mnl_attr_get_payload_len(tb[IFLA_LINK_NETNSID]) >= 4)
		set_int(L, "link_netnsid",
			(int32_t)mnl_attr_get_u32(tb[IFLA_LINK_NETNSID]));
	if (netns)
		set_str(L, "netns", netns);
}

int link_push_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_push *lp = data;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct ifinfomsg))
		return MNL_CB_OK;
	push_link(lp->L, nlh, lp->netns);
	lp->n++;
	if (lp->list)
		lua_rawseti(lp->L, lp->tab, lp->n);
	else if (lp->n > 1)
		lua_pop(lp->L, 1); /* keep the first */
	return MNL_CB_OK;
}

static int name_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = {0};

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), attr_cb, tb);
	if (tb[IFLA_IFNAME] &&
	    mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0)
		snprintf(data, IFNAMSIZ, "%s",
			 mnl_attr_get_str(tb[IFLA_IFNAME]));
	return MNL_CB_OK;
}

void link_resolve_master(lua_State *L, struct nl_conn *c, const char *netns)
{
	char buf[256], name[IFNAMSIZ] = "";
	struct nlmsghdr *nlh;
	struct nl_err e;
	int index;

	if (lua_getfield(L, -1, "master_ifindex") != LUA_TNUMBER) {
		lua_pop(L, 1);
		return;
	}
	index = (int)lua_tointeger(L, -1);
	lua_pop(L, 1);
	nlh = link_put_getlink(buf, NULL, index);
	if (nl_run(c, buf, nlh->nlmsg_len, name_cb, name, &e) < 0)
		nslab_raise(L, "link.get",
			    lua_pushfstring(L, "master %d", index), netns,
			    e.err, e.ext);
	if (name[0])
		set_str(L, "master", name);
}

/*
 * link.get(name_or_ifindex, opts) -> link table. One RTM_GETLINK (and one
 * more for the master's name when the link has one).
 */
int l_link_get(lua_State *L)
{
	static const char op[] = "link.get";
	static const char *const fields[] = {"netns", NULL};
	char buf[256];
	const char *name = NULL, *netns, *obj;
	struct link_push lp = {L, NULL, 0, 0, 0};
	struct nlmsghdr *nlh;
	struct nl_conn *c;
	struct nl_err e;
	int index = 0;

	lua_settop(L, 2); /* the object string pushed below must not be arg 2 */
	if (lua_isinteger(L, 1)) {
		index = (int)lua_tointeger(L, 1);
		luaL_argcheck(L, index > 0, 1, "ifindex must be > 0");
		obj = lua_pushfstring(L, "ifindex %d", index);
	} else {
		name = nslab_checkstr(L, 1, op, "ifname");
		nslab_check_ifname(L, op, name);
		obj = link_obj(L, name);
	}
	nslab_check_fields(L, 2, fields);
	netns = nslab_opt_netns(L, 2, op);
	c = nslab_conn(L, op, obj, netns);
	nlh = link_put_getlink(buf, name, index);
	lp.netns = netns;
	if (nl_run(c, buf, nlh->nlmsg_len, link_push_cb, &lp, &e) < 0 ||
	    lp.n == 0)
		return nslab_raise(L, op, obj, netns, e.err ? e.err : ENODEV,
				   e.ext[0] ? e.ext : "no such link");
	link_resolve_master(L, c, netns);
	return 1;
}

/*
 * link.list(opts) -> array of link tables in ifindex order, from one
 * RTM_GETLINK dump; master names come from the same dump.
 */
int l_link_list(lua_State *L)
{
	static const char op[] = "link.list";
	static const char *const fields[] = {"netns", NULL};
	char buf[256];
	struct link_push lp = {L, NULL, 1, 0, 0};
	const char *netns;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct nl_conn *c;
	struct nl_err e;
	int byindex;

	nslab_check_fields(L, 1, fields);
	netns = nslab_opt_netns(L, 1, op);
	c = nslab_conn(L, op, NULL, netns);
	nlh = link_put_request(buf, RTM_GETLINK, NLM_F_DUMP, &ifm);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	lua_newtable(L);
	lp.tab = lua_gettop(L);
	lp.netns = netns;
	if (nl_run(c, buf, nlh->nlmsg_len, link_push_cb, &lp, &e) < 0)
		return nslab_raise_nl(L, op, NULL, netns, &e);
	/* ifindex -> name, then master = name of master_ifindex */
	lua_createtable(L, 0, lp.n);
	byindex = lua_gettop(L);
	for (int i = 1; i <= lp.n; i++) {
		lua_rawgeti(L, lp.tab, i);
		lua_getfield(L, -1, "ifindex");
		lua_getfield(L, -2, "name");
		lua_settable(L, byindex);
		lua_pop(L, 1);
	}
	for (int i = 1; i <= lp.n; i++) {
		lua_rawgeti(L, lp.tab, i);
		if (lua_getfield(L, -1, "master_ifindex") == LUA_TNUMBER) {
			lua_gettable(L, byindex);
			lua_setfield(L, -2, "master");
		} else {
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	lua_settop(L, lp.tab);
	return 1;
}
