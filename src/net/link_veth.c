/*
 * link_veth.c - link.veth: a veth pair made directly in its two
 * namespaces, in one RTM_NEWLINK.
 *
 * Netlink: RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL) with IFLA_LINKINFO /
 * VETH_INFO_PEER carrying the peer's own ifinfomsg; RTM_GETLINK to read
 * back. Read: rtnetlink(7), veth(4), ip-link(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/veth.h>

#include "net/link.h"

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
	name = opt_ifname(L, 1, "name", op);
	peer = opt_ifname(L, 1, "peer", op);
	luaL_argcheck(L, name, 1, "field 'name' is required");
	luaL_argcheck(L, peer, 1, "field 'peer' is required");
	netns = opt_netns(L, 1, "netns", op);
	peer_netns = opt_netns(L, 1, "peer_netns", op);
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
	if (opt_integer(L, 1, "queues", &queues) &&
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
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD,
			 (uint32_t)nl_conn_nsfd(&st->nl, c));
	veth_put_queues(nlh, (uint32_t)queues);
	link_put_common(nlh, ifm, &lc);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pn = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD,
			 (uint32_t)nl_conn_nsfd(&st->nl, pcn));
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
