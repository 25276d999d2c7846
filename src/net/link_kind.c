/*
 * link_kind.c - links of other kinds than veth: bridge, vxlan, macvlan,
 * ipvlan, vlan, ifb, dummy (and any kind name with common options only);
 * whether this kernel has a kind at all is link_probe.c's.
 *
 * Netlink: RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL and IFLA_LINKINFO
 * (IFLA_INFO_KIND, IFLA_INFO_DATA with IFLA_BR_*, IFLA_VXLAN_*,
 * IFLA_MACVLAN_*, IFLA_IPVLAN_*, IFLA_VLAN_*). A kernel without a kind
 * answers EOPNOTSUPP "Unknown device type".
 * Read: ip-link(8) (the "type" sections), rtnetlink(7), RFC 7348 (VXLAN,
 * UDP port 4789), IEEE 802.1Q/802.1ad.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_link.h>

#include "net/link.h"

/* What a per-kind attribute writer needs to raise a clear error. */
struct add_ctx {
	lua_State *L;
	const char *op, *obj, *netns;
	struct nl_conn *c;
};

typedef void (*put_fn)(struct add_ctx *x, int idx, struct nlmsghdr *nlh);

/* ifindex of t[field] (an ifname in the same netns), or 0 if absent. */
static int opt_parent(struct add_ctx *x, int idx, const char *field)
{
	const char *name = opt_ifname(x->L, idx, field, x->op);
	struct nl_err e;
	int index;

	if (!name)
		return 0;
	index = nl_ifindex(x->c, name, &e);
	if (index < 0)
		nslab_raise(x->L, x->op, x->obj, x->netns, e.err,
			    lua_pushfstring(x->L, "%s \"%s\": %s", field, name,
					    e.ext[0] ? e.ext : "no such link"));
	return index;
}

static void put_bool_u8(lua_State *L, int idx, const char *field,
			struct nlmsghdr *nlh, int type)
{
	int v;

	if (opt_boolean(L, idx, field, &v))
		mnl_attr_put_u8(nlh, (uint16_t)type, (uint8_t)v);
}

/* bridge: stp, vlan_filtering, mcast_snooping (booleans). */
static void put_bridge(struct add_ctx *x, int idx, struct nlmsghdr *nlh)
{
	int v;

	if (opt_boolean(x->L, idx, "stp", &v))
		mnl_attr_put_u32(nlh, IFLA_BR_STP_STATE, (uint32_t)v);
	put_bool_u8(x->L, idx, "vlan_filtering", nlh, IFLA_BR_VLAN_FILTERING);
	put_bool_u8(x->L, idx, "mcast_snooping", nlh, IFLA_BR_MCAST_SNOOPING);
}

/*
 * t[field] as an IPv4 or IPv6 address into out (4 or 16 bytes); returns
 * the family, 0 if absent; raises EINVAL when it does not parse.
 */
static int opt_ip(struct add_ctx *x, int idx, const char *field,
		  unsigned char out[16])
{
	const char *s = opt_string(x->L, idx, field);

	if (!s)
		return 0;
	if (inet_pton(AF_INET, s, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, out) == 1)
		return AF_INET6;
	nslab_raise(x->L, x->op, x->obj, x->netns, EINVAL,
		    lua_pushfstring(x->L,
				    "%s \"%s\" is not an IPv4 or IPv6 address",
				    field, s));
	return 0;
}

static int is_multicast(int family, const unsigned char *a)
{
	return family == AF_INET ? (a[0] & 0xf0) == 0xe0 : a[0] == 0xff;
}

/*
 * vxlan: id (VNI, required), remote (unicast) or group (multicast),
 * local, dstport (default 4789, the IANA port; the kernel's own default
 * is Linux's pre-standard 8472), dev, ttl, learning.
 */
static void put_vxlan(struct add_ctx *x, int idx, struct nlmsghdr *nlh)
{
	lua_State *L = x->L;
	unsigned char remote[16], group[16], local[16];
	int fr, fg, fl, dev;
	lua_Integer id, port = 4789, ttl;

	luaL_argcheck(
	    L,
	    opt_range(L, idx, "id", 0, 0xffffff, &id, x->op, x->obj, x->netns),
	    idx, "field 'id' (the VNI, 0..16777215) is required");
	fr = opt_ip(x, idx, "remote", remote);
	fg = opt_ip(x, idx, "group", group);
	fl = opt_ip(x, idx, "local", local);
	luaL_argcheck(L, !(fr && fg), idx,
		      "'remote' and 'group' exclude each other");
	if (fr && is_multicast(fr, remote))
		nslab_raise(L, x->op, x->obj, x->netns, EINVAL,
			    "remote is a multicast address: use group=");
	if (fg && !is_multicast(fg, group))
		nslab_raise(L, x->op, x->obj, x->netns, EINVAL,
			    "group is not a multicast address: use remote=");
	opt_range(L, idx, "dstport", 1, 65535, &port, x->op, x->obj, x->netns);
	mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, (uint32_t)id);
	if (fr || fg)
		mnl_attr_put(nlh,
			     (fr ? fr : fg) == AF_INET ? IFLA_VXLAN_GROUP
						       : IFLA_VXLAN_GROUP6,
			     (fr ? fr : fg) == AF_INET ? 4 : 16,
			     fr ? remote : group);
	if (fl)
		mnl_attr_put(
		    nlh, fl == AF_INET ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6,
		    fl == AF_INET ? 4 : 16, local);
	mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons((uint16_t)port));
	if (opt_range(L, idx, "ttl", 0, 255, &ttl, x->op, x->obj, x->netns))
		mnl_attr_put_u8(nlh, IFLA_VXLAN_TTL, (uint8_t)ttl);
	put_bool_u8(L, idx, "learning", nlh, IFLA_VXLAN_LEARNING);
	if ((dev = opt_parent(x, idx, "dev")) > 0)
		mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, (uint32_t)dev);
}

static int required_parent(struct add_ctx *x, int idx)
{
	int parent = opt_parent(x, idx, "link");

	luaL_argcheck(x->L, parent > 0, idx,
		      "field 'link' (the parent ifname) is required");
	return parent;
}

/* macvlan: link (parent, required), mode (kernel default "vepa"). */
static void put_macvlan(struct add_ctx *x, int idx, struct nlmsghdr *nlh)
{
	static const char *const modes[] = {"private",	"vepa",	  "bridge",
					    "passthru", "source", NULL};
	int mode =
	    opt_choice(x->L, idx, "mode", modes, x->op, x->obj, x->netns);

	if (mode >= 0) /* MACVLAN_MODE_PRIVATE = 1, VEPA = 2, BRIDGE = 4 ... */
		mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, 1u << mode);
}

/* ipvlan: link (parent, required), mode "l2", "l3" or "l3s". */
static void put_ipvlan(struct add_ctx *x, int idx, struct nlmsghdr *nlh)
{
	static const char *const modes[] = {"l2", "l3", "l3s", NULL};
	int mode =
	    opt_choice(x->L, idx, "mode", modes, x->op, x->obj, x->netns);

	if (mode >= 0)
		mnl_attr_put_u16(nlh, IFLA_IPVLAN_MODE, (uint16_t)mode);
}

/* vlan: link (parent, required), id 0..4095 (required), protocol. */
static void put_vlan(struct add_ctx *x, int idx, struct nlmsghdr *nlh)
{
	static const char *const protos[] = {"802.1Q", "802.1ad", NULL};
	lua_Integer id;
	int proto;

	luaL_argcheck(
	    x->L,
	    opt_range(x->L, idx, "id", 0, 4095, &id, x->op, x->obj, x->netns),
	    idx, "field 'id' (the VLAN id, 0..4095) is required");
	proto =
	    opt_choice(x->L, idx, "protocol", protos, x->op, x->obj, x->netns);
	mnl_attr_put_u16(nlh, IFLA_VLAN_ID, (uint16_t)id);
	if (proto >= 0)
		mnl_attr_put_u16(nlh, IFLA_VLAN_PROTOCOL,
				 htons(proto ? 0x88a8 : 0x8100));
}

/*
 * The kinds nslab knows: their options, whether they hang off a parent
 * link (IFLA_LINK), and the kernel option and module providing them.
 */
static const struct kind {
	const char *kind, *config, *module;
	const char *fields[9];
	put_fn put;
	int parent;
} kinds[] = {
    {"bridge",
     "CONFIG_BRIDGE",
     "bridge",
     {"stp", "vlan_filtering", "mcast_snooping"},
     put_bridge,
     0},
    {"vxlan",
     "CONFIG_VXLAN",
     "vxlan",
     {"id", "remote", "group", "local", "dstport", "dev", "ttl", "learning"},
     put_vxlan,
     0},
    {"macvlan", "CONFIG_MACVLAN", "macvlan", {"link", "mode"}, put_macvlan, 1},
    {"ipvlan", "CONFIG_IPVLAN", "ipvlan", {"link", "mode"}, put_ipvlan, 1},
    {"vlan",
     "CONFIG_VLAN_8021Q",
     "8021q",
     {"link", "id", "protocol"},
     put_vlan,
     1},
    {"ifb", "CONFIG_IFB", "ifb", {NULL}, NULL, 0},
    {"dummy", "CONFIG_DUMMY", "dummy", {NULL}, NULL, 0},
    {"veth", "CONFIG_VETH", "veth", {NULL}, NULL, 0},
    {"geneve", "CONFIG_GENEVE", "geneve", {NULL}, NULL, 0},
    {"vrf", "CONFIG_NET_VRF", "vrf", {NULL}, NULL, 0},
    {"bond", "CONFIG_BONDING", "bonding", {NULL}, NULL, 0},
    {"wireguard", "CONFIG_WIREGUARD", "wireguard", {NULL}, NULL, 0},
    {"gretap", "CONFIG_NET_IPGRE", "ip_gre", {NULL}, NULL, 0},
};

static const struct kind *find_kind(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].kind, name))
			return &kinds[i];
	return NULL;
}

const char *link_kind_missing(lua_State *L, const char *kind)
{
	const struct kind *k = find_kind(kind);

	if (k)
		return lua_pushfstring(L,
				       "this kernel has no link kind \"%s\" "
				       "(needs %s, module %s)",
				       kind, k->config, k->module);
	return lua_pushfstring(L,
			       "this kernel has no link kind \"%s\" (needs "
			       "the kernel feature providing it, module "
			       "alias rtnl-link-%s)",
			       kind, kind);
}

const char *link_check_kind(lua_State *L, int arg, const char *kind)
{
	size_t n = strlen(kind);

	luaL_argcheck(L,
		      n > 0 && n < 32 &&
			  strspn(kind, "abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789_.-") == n,
		      arg, "kind must be a link kind name such as \"bridge\"");
	return kind;
}

int link_unknown_type(const struct nl_err *e)
{
	return e->err == EOPNOTSUPP && strstr(e->ext, "Unknown device type");
}

static const char *const common_fields[] = {"name", "kind",    "netns",
					    "mtu",  "address", "up"};

/* link.add{kind="veth", ...} is link.veth{...}: calls it with a copy of
 * the table at 1 without kind. */
static int add_as_veth(lua_State *L)
{
	lua_settop(L, 1);
	lua_newtable(L);
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		if (lua_type(L, -2) == LUA_TSTRING &&
		    strcmp(lua_tostring(L, -2), "kind") == 0) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_settable(L, 2);
	}
	lua_replace(L, 1);
	return l_link_veth(L);
}

/* Raises an argument error for a field in the table at 1 that neither
 * every link nor kind k (NULL: unknown to nslab) takes. */
static void add_check_fields(lua_State *L, const struct kind *k)
{
	const char
	    *fields[sizeof(common_fields) / sizeof(common_fields[0]) + 10];
	size_t n = 0;

	for (; n < sizeof(common_fields) / sizeof(common_fields[0]); n++)
		fields[n] = common_fields[n];
	for (int i = 0; k && k->fields[i]; i++)
		fields[n++] = k->fields[i];
	fields[n] = NULL;
	nslab_check_fields(L, 1, fields);
}

/*
 * Builds in buf the RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL) making link
 * name of kind (k: its entry, or NULL) on parent (0: none), the kind's
 * own attributes read by k->put, then the RTM_GETLINK that reads it back.
 * Returns the batch's length; raises on a bad kind option.
 */
static size_t add_put(char *buf, struct add_ctx *x, const struct kind *k,
		      const char *name, const char *kind,
		      const struct link_common *lc, int parent)
{
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh;
	struct nlattr *info, *data;

	nlh =
	    link_put_request(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifm);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	link_put_common(nlh, ifm, lc);
	if (parent)
		mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)parent);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	if (k && k->put) {
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		k->put(x, 1, nlh);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	return nlh->nlmsg_len +
	       link_put_getlink(buf + nlh->nlmsg_len, name, 0)->nlmsg_len;
}

/* Raises link.add's refusal e in words: a kind this kernel lacks names
 * its config option and module. */
static int add_raise(struct add_ctx *x, const struct kind *k, const char *kind,
		     const struct nl_err *e)
{
	lua_State *L = x->L;

	if (e->index == 0 && link_unknown_type(e))
		return nslab_raise(L, x->op, x->obj, x->netns, e->err,
				   link_kind_missing(L, kind));
	if (e->err == EOPNOTSUPP && !e->ext[0] && k)
		return nslab_raise(
		    L, x->op, x->obj, x->netns, e->err,
		    lua_pushfstring(L,
				    "this kernel's %s lacks a feature asked "
				    "for%s",
				    kind,
				    strcmp(kind, "bridge")
					? ""
					: " (vlan_filtering needs "
					  "CONFIG_BRIDGE_VLAN_FILTERING)"));
	return nslab_raise(L, x->op, x->obj, x->netns, e->err ? e->err : ENODEV,
			   e->ext[0] ? e->ext
			   : e->err == EEXIST
			       ? "a link with this name already exists"
			       : NULL);
}

/*
 * link.add{name=, kind=, netns=, mtu=, address=, up=, ...} -> link table.
 * One RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL) over the socket of netns,
 * batched with the RTM_GETLINK that reads the new link back. Everything
 * is checked first, parents included, so a refusal changes nothing.
 */
int l_link_add(lua_State *L)
{
	static const char op[] = "link.add";
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct add_ctx x = {L, op, NULL, NULL, NULL};
	struct link_push lp = {L, NULL, 0, 0, 0};
	const struct kind *k;
	const char *name, *kind;
	struct link_common lc;
	struct nl_err e;
	size_t len;
	int parent = 0;

	luaL_checktype(L, 1, LUA_TTABLE);
	kind = opt_string(L, 1, "kind");
	luaL_argcheck(L, kind, 1, "field 'kind' is required");
	k = find_kind(link_check_kind(L, 1, kind));
	if (strcmp(kind, "veth") == 0)
		return add_as_veth(L);
	add_check_fields(L, k);
	name = opt_ifname(L, 1, "name", op);
	luaL_argcheck(L, name, 1, "field 'name' is required");
	x.netns = opt_netns(L, 1, "netns", op);
	x.obj = link_obj(L, name);
	link_read_common(L, 1, "", op, x.obj, x.netns, &lc);
	x.c = nslab_conn(L, op, x.obj, x.netns);
	if (link_tun_kind(kind))
		return link_add_tun(L, x.c, op, x.obj, x.netns, name, kind,
				    &lc);
	if (k && k->parent)
		parent = required_parent(&x, 1);
	len = add_put(buf, &x, k, name, kind, &lc, parent);
	lp.netns = x.netns;
	if (nl_run(x.c, buf, len, link_push_cb, &lp, &e) == 0 && lp.n == 1) {
		link_resolve_master(L, x.c, x.netns);
		return 1;
	}
	return add_raise(&x, k, kind, &e);
}
