/*
 * link_msg.c - the link messages every link file builds or reads: the
 * RTM_NEWLINK/RTM_GETLINK request headers, the attributes every
 * RTM_NEWLINK carries (mtu, MAC, IFF_UP, from the option table), and the
 * parser that turns an RTM_NEWLINK answer into the Lua table link.get and
 * link.list return, with names and spellings as iproute2 prints them.
 *
 * Netlink: RTM_GETLINK with IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS (no
 * counters: smaller, faster answers). Read: rtnetlink(7), ip-link(8),
 * netdevice(7) for the IFF_* flags, Documentation/networking/operstates.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/veth.h>

#include "net/link.h"

/* Parses "xx:xx:xx:xx:xx:xx" (hex, either case); returns 0 or -1. */
static int parse_mac(const char *s, unsigned char mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned int v = 0;

		for (int j = 0; j < 2; j++, s++) {
			char ch = *s;

			if (ch >= '0' && ch <= '9')
				v = v * 16 + (unsigned int)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				v = v * 16 + (unsigned int)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				v = v * 16 + (unsigned int)(ch - 'A' + 10);
			else
				return -1;
		}
		mac[i] = (unsigned char)v;
		if (*s != (i < 5 ? ':' : '\0'))
			return -1;
		s++;
	}
	return 0;
}

void link_read_common(lua_State *L, int idx, const char *prefix, const char *op,
		      const char *obj, const char *netns,
		      struct link_common *lc)
{
	char field[32], why[128];
	lua_Integer mtu;
	const char *mac;

	memset(lc, 0, sizeof(*lc));
	snprintf(field, sizeof(field), "%smtu", prefix);
	if (opt_integer(L, idx, field, &mtu)) {
		/* A new link is Ethernet-like: 68..65535 is checked here. An
		 * existing one may allow more (lo takes 65536 and up): set
		 * leaves the upper bound to the kernel, which names the
		 * device's maximum in its extack. */
		lua_Integer max =
		    strcmp(op, "link.set") == 0 ? INT32_MAX : LINK_MTU_MAX;

		if (mtu < LINK_MTU_MIN || mtu > max) {
			if (mtu < LINK_MTU_MIN)
				snprintf(why, sizeof(why),
					 "mtu %lld is below %d, the least "
					 "IPv4 works with",
					 (long long)mtu, LINK_MTU_MIN);
			else if (max == LINK_MTU_MAX)
				snprintf(why, sizeof(why),
					 "mtu %lld is out of range %d..%d "
					 "(the Ethernet maximum)",
					 (long long)mtu, LINK_MTU_MIN,
					 LINK_MTU_MAX);
			else
				snprintf(why, sizeof(why),
					 "mtu %lld is too large",
					 (long long)mtu);
			nslab_raise(L, op, obj, netns, EINVAL, why);
		}
		lc->has_mtu = 1;
		lc->mtu = (unsigned int)mtu;
	}
	snprintf(field, sizeof(field), "%saddress", prefix);
	mac = opt_string(L, idx, field);
	if (mac) {
		if (parse_mac(mac, lc->mac) < 0) {
			snprintf(why, sizeof(why),
				 "%s \"%.40s\" is not a MAC address "
				 "(xx:xx:xx:xx:xx:xx)",
				 field, mac);
			nslab_raise(L, op, obj, netns, EINVAL, why);
		}
		if (lc->mac[0] & 1) {
			snprintf(why, sizeof(why),
				 "%s %s is multicast (a link address must "
				 "be unicast: clear bit 0 of the first byte)",
				 field, mac);
			nslab_raise(L, op, obj, netns, EINVAL, why);
		}
		if (!memcmp(lc->mac, "\0\0\0\0\0\0", 6)) {
			snprintf(why, sizeof(why),
				 "%s %s is all zeros (not a valid address)",
				 field, mac);
			nslab_raise(L, op, obj, netns, EINVAL, why);
		}
		lc->has_mac = 1;
	}
	lc->has_up = opt_boolean(L, idx, "up", &lc->up);
}

void link_put_common(struct nlmsghdr *nlh, struct ifinfomsg *ifm,
		     const struct link_common *lc)
{
	if (lc->has_mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, lc->mtu);
	if (lc->has_mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, lc->mac);
	if (lc->has_up) {
		ifm->ifi_change |= IFF_UP;
		if (lc->up)
			ifm->ifi_flags |= IFF_UP;
	}
}

const char *link_obj(lua_State *L, const char *name)
{
	return lua_pushfstring(L, "\"%s\"", name);
}

struct nlmsghdr *link_put_request(void *buf, int type, int flags,
				  struct ifinfomsg **ifm)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = (unsigned short)type;
	nlh->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
	*ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(**ifm));
	(*ifm)->ifi_family = AF_UNSPEC;
	return nlh;
}

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

int link_attr_cb(const struct nlattr *a, void *data)
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

void link_set_hwaddr(lua_State *L, const char *k, const struct nlattr *a)
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
void link_push_msg(lua_State *L, const struct nlmsghdr *nlh, const char *netns)
{
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	uint32_t v;

	mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, tb);
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
	link_set_hwaddr(L, "address", tb[IFLA_ADDRESS]);
	link_set_hwaddr(L, "broadcast", tb[IFLA_BROADCAST]);
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
	link_push_msg(lp->L, nlh, lp->netns);
	lp->n++;
	if (lp->list)
		lua_rawseti(lp->L, lp->tab, lp->n);
	else if (lp->n > 1)
		lua_pop(lp->L, 1); /* keep the first */
	return MNL_CB_OK;
}
