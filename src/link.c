/*
 * link.c - links: veth pairs made directly in their namespaces, changing a
 * link (up/down, mtu, MAC, master, rename, move to another netns), deleting
 * it; plus the option readers the other link files share.
 *
 * Netlink: RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL for veth, plain for set),
 * RTM_DELLINK, RTM_GETLINK; attributes IFLA_IFNAME, IFLA_NET_NS_FD,
 * IFLA_MTU, IFLA_ADDRESS, IFLA_MASTER, IFLA_LINKINFO/VETH_INFO_PEER.
 * Read: rtnetlink(7), veth(4), ip-link(8), netdevice(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/veth.h>

#include "link.h"

/* ---- option tables ---- */

/* Pushes t[field]; returns 0 (and pops) when it is nil. */
static int opt_get(lua_State *L, int idx, const char *field)
{
	if (lua_getfield(L, idx, field) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	return 0;
}

static void opt_type_error(lua_State *L, int idx, const char *field,
			   const char *what)
{
	luaL_argerror(L, idx,
		      lua_pushfstring(L, "field '%s' must be %s", field, what));
}

int link_opt_integer(lua_State *L, int idx, const char *field, lua_Integer *v)
{
	if (!opt_get(L, idx, field))
		return 0;
	if (!lua_isinteger(L, -1))
		opt_type_error(L, idx, field, "an integer");
	*v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return 1;
}

int link_opt_boolean(lua_State *L, int idx, const char *field, int *v)
{
	if (!opt_get(L, idx, field))
		return 0;
	if (!lua_isboolean(L, -1))
		opt_type_error(L, idx, field, "a boolean");
	*v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return 1;
}

const char *link_opt_string(lua_State *L, int idx, const char *field)
{
	const char *s;

	if (!opt_get(L, idx, field))
		return NULL;
	if (lua_type(L, -1) != LUA_TSTRING)
		opt_type_error(L, idx, field, "a string");
	s = nslab_nonul(L, -1, NULL, field);
	lua_pop(L, 1); /* the table still holds it */
	return s;
}

const char *link_opt_ifname(lua_State *L, int idx, const char *field,
			    const char *op)
{
	const char *s = link_opt_string(L, idx, field);

	if (s)
		nslab_check_ifname(L, op, s);
	return s;
}

const char *link_opt_netns(lua_State *L, int idx, const char *field,
			   const char *op)
{
	const char *s = link_opt_string(L, idx, field);

	if (s)
		nslab_check_netns(L, op, s);
	return s;
}

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
	if (link_opt_integer(L, idx, field, &mtu)) {
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
	mac = link_opt_string(L, idx, field);
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
	lc->has_up = link_opt_boolean(L, idx, "up", &lc->up);
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

int link_nsfd(struct nslab_state *st, const struct nl_conn *c)
{
	return c == &st->self ? st->self_nsfd : c->nsfd;
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

/* ---- veth ---- */

static const char *const veth_fields[] = {
    "name",    "peer",	       "netns", "peer_netns", "mtu",
    "address", "peer_address", "up",	"queues",     NULL,
};

/* The kernel's limit on IFLA_NUM_TX_QUEUES (rtnl_create_link). */
#define VETH_QUEUES_MAX 4096

static void veth_put_queues(struct nlmsghdr *nlh, uint32_t queues)
{
	mnl_attr_put_u32(nlh, IFLA_NUM_TX_QUEUES, queues);
	mnl_attr_put_u32(nlh, IFLA_NUM_RX_QUEUES, queues);
}

/*
 * link.veth{name=, peer=, netns=, peer_netns=, mtu=, address=,
 * peer_address=, up=, queues=} -> link table of the first end, plus peer and
 * peer_netns.
 *
 * One RTM_NEWLINK makes both ends where they belong: the first end's
 * ifinfomsg carries IFLA_NET_NS_FD of netns, and VETH_INFO_PEER carries a
 * second, complete ifinfomsg with the peer's own name, IFLA_NET_NS_FD,
 * mtu and MAC. The kernel registers both or neither, so nothing is ever
 * left half-made and no move is needed afterwards.
 *
 * IFF_UP can go in the first end's ifinfomsg only: the kernel configures
 * the peer before the two are tied, and opening a veth without its peer
 * fails with ENOTCONN. So up=true adds one plain RTM_NEWLINK setting
 * IFF_UP on the peer, batched into the same sendmsg when both ends share
 * a namespace, else sent on the peer's socket (a second round trip).
 * The create goes over the first end's socket, batched with an
 * RTM_GETLINK that reads back what was made (ifindex, peer ifindex, MAC).
 *
 * Each end gets IFLA_NUM_TX_QUEUES and IFLA_NUM_RX_QUEUES = queues (1
 * unless asked): left out, the kernel gives a veth one queue per CPU, and
 * registering and unregistering each queue waits for RCU, which made a
 * chain of veth pairs 17-29% slower to build on 2 CPUs.
 */
int l_link_veth(lua_State *L)
{
	static const char op[] = "link.veth";
	struct nslab_state *st = nslab_state(L);
	char buf[MNL_SOCKET_BUFFER_SIZE], why[NSLAB_EXTACK_MAX + 64];
	const char *name, *peer, *netns, *peer_netns, *obj, *pobj;
	struct link_common lc, pc;
	struct ifinfomsg *ifm, *pifm;
	struct nlattr *info, *data, *pn;
	struct nl_conn *c, *pcn;
	struct nlmsghdr *nlh;
	struct link_push lp = {L, NULL, 0, 0, 0};
	struct nl_err e;
	size_t len, uplen = 0;
	lua_Integer queues = 1;
	int peer_up, err;

	luaL_checktype(L, 1, LUA_TTABLE);
	nslab_check_fields(L, 1, veth_fields);
	name = link_opt_ifname(L, 1, "name", op);
	peer = link_opt_ifname(L, 1, "peer", op);
	luaL_argcheck(L, name, 1, "field 'name' is required");
	luaL_argcheck(L, peer, 1, "field 'peer' is required");
	netns = link_opt_netns(L, 1, "netns", op);
	peer_netns = link_opt_netns(L, 1, "peer_netns", op);
	if (lua_getfield(L, 1, "peer_netns") == LUA_TNIL)
		peer_netns = netns; /* absent: both ends in netns */
	lua_pop(L, 1);
	obj = link_obj(L, name);
	pobj = link_obj(L, peer);
	link_read_common(L, 1, "", op, obj, netns, &lc);
	link_read_common(L, 1, "peer_", op, pobj, peer_netns, &pc);
	pc.has_mtu = lc.has_mtu; /* one mtu for both ends */
	pc.mtu = lc.mtu;
	pc.has_up = 0; /* see above */
	peer_up = lc.has_up && lc.up;
	if (link_opt_integer(L, 1, "queues", &queues) &&
	    (queues < 1 || queues > VETH_QUEUES_MAX)) {
		snprintf(why, sizeof(why), "queues %lld is out of range 1..%d",
			 (long long)queues, VETH_QUEUES_MAX);
		return nslab_raise(L, op, obj, netns, EINVAL, why);
	}

	c = nslab_conn(L, op, obj, netns);
	pcn = nslab_conn(L, op, pobj, peer_netns);

	nlh =
	    link_put_request(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifm);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)link_nsfd(st, c));
	veth_put_queues(nlh, (uint32_t)queues);
	link_put_common(nlh, ifm, &lc);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pn = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)link_nsfd(st, pcn));
	veth_put_queues(nlh, (uint32_t)queues);
	link_put_common(nlh, pifm, &pc);
	mnl_attr_nest_end(nlh, pn);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	len = nlh->nlmsg_len;
	if (peer_up && pcn == c) {
		nlh = link_put_request(buf + len, RTM_NEWLINK, 0, &ifm);
		mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
		ifm->ifi_flags = ifm->ifi_change = IFF_UP;
		len += nlh->nlmsg_len;
		uplen = nlh->nlmsg_len;
	}
	len += link_put_getlink(buf + len, name, 0)->nlmsg_len;

	lp.netns = netns;
	if (nl_run(c, buf, len, link_push_cb, &lp, &e) < 0 && e.index == 0) {
		if (e.err == EEXIST && !e.ext[0]) {
			snprintf(why, sizeof(why),
				 "a link \"%s\" or \"%s\" already exists "
				 "where it would go",
				 name, peer);
			return nslab_raise(L, op, obj, netns, e.err, why);
		}
		return nslab_raise_nl(L, op, obj, netns, &e);
	}
	if (!e.err && peer_up && pcn != c) {
		nlh = link_put_request(buf, RTM_NEWLINK, 0, &ifm);
		mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
		ifm->ifi_flags = ifm->ifi_change = IFF_UP;
		uplen = nlh->nlmsg_len;
		nl_run(pcn, buf, uplen, NULL, NULL, &e);
	}
	if (!e.err && lp.n == 1) {
		lua_pushstring(L, peer);
		lua_setfield(L, -2, "peer");
		if (peer_netns) {
			lua_pushstring(L, peer_netns);
			lua_setfield(L, -2, "peer_netns");
		}
		return 1;
	}
	/* Made, but the peer would not come up or the pair vanished: undo
	 * (deleting one end deletes both), then say why. */
	snprintf(why, sizeof(why), "%s", e.ext);
	err = e.err ? e.err : ENODEV;
	nlh = link_put_request(buf, RTM_DELLINK, 0, &ifm);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	nl_run(c, buf, nlh->nlmsg_len, NULL, NULL, &e);
	return nslab_raise(
	    L, op, obj, netns, err,
	    why[0]  ? why
	    : uplen ? "could not set the peer up; the pair was removed"
		    : "the new pair vanished before it was read");
}

/* ---- set ---- */

static const char *const set_fields[] = {
    "up", "mtu", "address", "master", "nomaster", "name", "netns_to", NULL,
};
static const char *const netns_field[] = {"netns", NULL};

/*
 * link.set(name, changes, opts): one RTM_NEWLINK without NLM_F_CREATE on
 * the link's ifindex. The kernel applies a move to another namespace
 * (IFLA_NET_NS_FD, with IFLA_IFNAME as the name there) before the rest,
 * and IFF_UP last, so `{netns_to=, name=, up=true}` lands renamed and up.
 * Otherwise the link is named by IFLA_IFNAME (one round trip); a rename
 * or move needs the ifindex, since IFLA_IFNAME then names the new link:
 * it is read first, as is the master's.
 */
static int l_link_set(lua_State *L)
{
	static const char op[] = "link.set";
	struct nslab_state *st = nslab_state(L);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	const char *name, *newname, *master, *netns, *netns_to, *obj;
	struct link_common lc;
	struct ifinfomsg *ifm;
	struct nl_conn *c, *to = NULL;
	struct nlmsghdr *nlh;
	struct nl_err e;
	int nomaster = 0, has_nomaster, index, mindex = 0;

	name = nslab_checkstr(L, 1, op, "ifname");
	luaL_checktype(L, 2, LUA_TTABLE);
	nslab_check_fields(L, 2, set_fields);
	nslab_check_fields(L, 3, netns_field);
	nslab_check_ifname(L, op, name);
	netns = nslab_opt_netns(L, 3, op);
	obj = link_obj(L, name);
	newname = link_opt_ifname(L, 2, "name", op);
	master = link_opt_ifname(L, 2, "master", op);
	has_nomaster = link_opt_boolean(L, 2, "nomaster", &nomaster);
	if (master && has_nomaster && nomaster)
		luaL_argerror(L, 2,
			      "'master' and 'nomaster' exclude each other");
	netns_to = link_opt_netns(L, 2, "netns_to", op);
	link_read_common(L, 2, "", op, obj, netns, &lc);

	c = nslab_conn(L, op, obj, netns);
	if (netns_to && !(to = nl_conn_get(nslab_state(L), netns_to))) {
		/* the link is where it was: blame the target, named so */
		int err = errno;

		return nslab_raise(
		    L, op, obj, netns, err,
		    lua_pushfstring(L, "target netns \"%s\"%s", netns_to,
				    err == ENOENT    ? " does not exist"
				    : err == ELOOP   ? " is a symlink"
				    : err == ENOTSUP ? " is not a netns"
						     : ""));
	}
	/* Named by IFLA_IFNAME unless renamed or moved: one round trip. */
	index = newname || to ? nl_ifindex(c, name, &e) : 0;
	if (index < 0)
		return nslab_raise(L, op, obj, netns, e.err,
				   e.ext[0] ? e.ext : "no such link");
	if (master) {
		mindex = nl_ifindex(c, master, &e);
		if (mindex < 0)
			return nslab_raise(
			    L, op, obj, netns, e.err,
			    lua_pushfstring(L, "master \"%s\": %s", master,
					    e.ext[0] ? e.ext : "no such link"));
	}
	nlh = link_put_request(buf, RTM_NEWLINK, 0, &ifm);
	ifm->ifi_index = index;
	if (newname)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, newname);
	else if (!index)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (to)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD,
				 (uint32_t)link_nsfd(st, to));
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)mindex);
	else if (nomaster)
		mnl_attr_put_u32(nlh, IFLA_MASTER, 0);
	link_put_common(nlh, ifm, &lc);
	if (nl_run(c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0) {
		/* the kernel says "the target netns": say which */
		if (to && e.err == EEXIST)
			return nslab_raise(
			    L, op, obj, netns, e.err,
			    lua_pushfstring(
				L, "%s (target netns \"%s\": name \"%s\")",
				e.ext[0] ? e.ext
					 : "an interface with the same name "
					   "exists",
				netns_to, newname ? newname : name));
		return nslab_raise(L, op, obj, netns, e.err,
				   e.err == ENODEV && !e.ext[0] ? "no such link"
								: e.ext);
	}
	return 0;
}

/* ---- del ---- */

/*
 * link.del(name, opts): RTM_DELLINK by IFLA_IFNAME. Deleting either end
 * of a veth deletes both; deleting a bridge frees its ports.
 */
static int l_link_del(lua_State *L)
{
	static const char op[] = "link.del";
	char buf[512];
	const char *name = nslab_checkstr(L, 1, op, "ifname"), *netns, *obj;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh;
	struct nl_conn *c;
	struct nl_err e;

	nslab_check_fields(L, 2, netns_field);
	nslab_check_ifname(L, op, name);
	netns = nslab_opt_netns(L, 2, op);
	obj = link_obj(L, name);
	c = nslab_conn(L, op, obj, netns);
	nlh = link_put_request(buf, RTM_DELLINK, 0, &ifm);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (nl_run(c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0)
		return nslab_raise(L, op, obj, netns, e.err,
				   e.err == ENODEV && !e.ext[0] ? "no such link"
								: e.ext);
	return 0;
}

static const luaL_Reg funcs[] = {
    {"veth", l_link_veth},
    {"add", l_link_add},
    {"set", l_link_set},
    {"del", l_link_del},
    {"get", l_link_get},
    {"list", l_link_list},
    {"kind_available", l_link_kind_available},
    {NULL, NULL},
};

void nslab_open_link(lua_State *L)
{
	nslab_newlib(L, "link", funcs);
}
