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

/* link.veth's options as read and checked: both ends and their namespaces. */
struct veth_req {
	const char *name, *peer, *netns, *peer_netns, *obj, *pobj;
	struct link_common lc, pc;
	lua_Integer queues;
	int peer_up;
};

/*
 * Reads and checks link.veth's table at 1 into r; raises argument errors
 * for types and fields, EINVAL objects for values. The "obj" texts are
 * left on the stack.
 *
 * IFF_UP can go in the first end's ifinfomsg only: the kernel configures
 * the peer before the two are tied, and opening a veth without its peer
 * fails with ENOTCONN. So up=true is kept in peer_up and the peer is set
 * up by its own RTM_NEWLINK (veth_put, veth_run).
 */
static void veth_read(lua_State *L, const char *op, struct veth_req *r)
{
	char why[64];

	luaL_checktype(L, 1, LUA_TTABLE);
	nslab_check_fields(L, 1, veth_fields);
	r->name = opt_ifname(L, 1, "name", op);
	r->peer = opt_ifname(L, 1, "peer", op);
	luaL_argcheck(L, r->name, 1, "field 'name' is required");
	luaL_argcheck(L, r->peer, 1, "field 'peer' is required");
	r->netns = opt_netns(L, 1, "netns", op);
	r->peer_netns = opt_netns(L, 1, "peer_netns", op);
	if (lua_getfield(L, 1, "peer_netns") == LUA_TNIL)
		r->peer_netns = r->netns; /* absent: both ends in netns */
	lua_pop(L, 1);
	r->obj = link_obj(L, r->name);
	r->pobj = link_obj(L, r->peer);
	link_read_common(L, 1, "", op, r->obj, r->netns, &r->lc);
	link_read_common(L, 1, "peer_", op, r->pobj, r->peer_netns, &r->pc);
	r->pc.has_mtu = r->lc.has_mtu; /* one mtu for both ends */
	r->pc.mtu = r->lc.mtu;
	r->pc.has_up = 0; /* see above */
	r->peer_up = r->lc.has_up && r->lc.up;
	r->queues = 1;
	if (opt_integer(L, 1, "queues", &r->queues) &&
	    (r->queues < 1 || r->queues > VETH_QUEUES_MAX)) {
		snprintf(why, sizeof(why), "queues %lld is out of range 1..%d",
			 (long long)r->queues, VETH_QUEUES_MAX);
		nslab_raise(L, op, r->obj, r->netns, EINVAL, why);
	}
}

/* Appends to buf the RTM_NEWLINK setting IFF_UP on ifname. */
static struct nlmsghdr *veth_put_up(void *buf, const char *ifname)
{
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_put_request(buf, RTM_NEWLINK, 0, &ifm);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	return nlh;
}

/*
 * One RTM_NEWLINK makes both ends where they belong: the first end's
 * ifinfomsg carries IFLA_NET_NS_FD of netns, and VETH_INFO_PEER carries a
 * second, complete ifinfomsg with the peer's own name, IFLA_NET_NS_FD,
 * mtu and MAC. The kernel registers both or neither, so nothing is ever
 * left half-made and no move is needed afterwards.
 *
 * Each end gets IFLA_NUM_TX_QUEUES and IFLA_NUM_RX_QUEUES = queues (1
 * unless asked): left out, the kernel gives a veth one queue per CPU, and
 * registering and unregistering each queue waits for RCU, which made a
 * chain of veth pairs 17-29% slower to build on 2 CPUs.
 */
struct nlmsghdr *link_put_veth(void *buf, const struct link_veth_end *a,
			       const struct link_veth_end *b, uint32_t queues)
{
	const struct link_veth_end *e[2] = {a, b};
	struct ifinfomsg *ifm;
	struct nlattr *info = NULL, *data = NULL, *pn = NULL;
	struct nlmsghdr *nlh =
	    link_put_request(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifm);

	for (int i = 0; i < 2; i++) {
		if (i == 1) {
			info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
			mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
			data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
			pn = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
			ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
			ifm->ifi_family = AF_UNSPEC;
		}
		ifm->ifi_index = e[i]->ifindex;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, e[i]->name);
		if (e[i]->nsfd >= 0)
			mnl_attr_put_u32(nlh, IFLA_NET_NS_FD,
					 (uint32_t)e[i]->nsfd);
		veth_put_queues(nlh, queues);
		link_put_common(nlh, ifm, e[i]->lc);
	}
	mnl_attr_nest_end(nlh, pn);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

/*
 * Builds in buf the batch sent on the first end's socket c: the create
 * (link_put_veth), then the peer's IFF_UP when the peer shares c (*uplen
 * its length, else 0), then an RTM_GETLINK that reads back what was made
 * (ifindex, peer ifindex, MAC). Returns the batch's length.
 */
static size_t veth_put(char *buf, struct nl_cache *nl, const struct veth_req *r,
		       struct nl_conn *c, struct nl_conn *pcn, size_t *uplen)
{
	struct link_veth_end a = {r->name, 0, nl_conn_nsfd(nl, c), &r->lc};
	struct link_veth_end b = {r->peer, 0, nl_conn_nsfd(nl, pcn), &r->pc};
	struct nlmsghdr *nlh = link_put_veth(buf, &a, &b, (uint32_t)r->queues);
	size_t len;

	len = nlh->nlmsg_len;
	*uplen = 0;
	if (r->peer_up && pcn == c) {
		*uplen = veth_put_up(buf + len, r->peer)->nlmsg_len;
		len += *uplen;
	}
	return len + link_put_getlink(buf + len, r->name, 0)->nlmsg_len;
}

/*
 * Made, but the peer would not come up (e) or the pair vanished: undoes
 * it (deleting one end deletes both) and raises why.
 */
static int veth_undo(lua_State *L, const char *op, const struct veth_req *r,
		     struct nl_conn *c, struct nl_err *e, int uplen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], why[NSLAB_EXTACK_MAX + 64];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh;
	int err = e->err ? e->err : ENODEV;

	snprintf(why, sizeof(why), "%s", e->ext);
	nlh = link_put_request(buf, RTM_DELLINK, 0, &ifm);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, r->name);
	nl_run(c, buf, nlh->nlmsg_len, NULL, NULL, e);
	return nslab_raise(
	    L, op, r->obj, r->netns, err,
	    why[0]  ? why
	    : uplen ? "could not set the peer up; the pair was removed"
		    : "the new pair vanished before it was read");
}

/*
 * link.veth{name=, peer=, netns=, peer_netns=, mtu=, address=,
 * peer_address=, up=, queues=} -> link table of the first end, plus peer and
 * peer_netns.
 *
 * The create goes over the first end's socket (veth_put); with up=true
 * the peer is set up in the same sendmsg when both ends share a
 * namespace, else on the peer's socket (a second round trip).
 */
int l_link_veth(lua_State *L)
{
	static const char op[] = "link.veth";
	struct nslab_state *st = nslab_state(L);
	char buf[MNL_SOCKET_BUFFER_SIZE], why[NSLAB_EXTACK_MAX + 64];
	struct link_push lp = {L, NULL, 0, 0, 0};
	struct veth_req r = {0};
	struct nl_conn *c, *pcn;
	struct nl_err e;
	size_t len, uplen;

	veth_read(L, op, &r);
	c = nslab_conn(L, op, r.obj, r.netns);
	pcn = nslab_conn(L, op, r.pobj, r.peer_netns);
	len = veth_put(buf, &st->nl, &r, c, pcn, &uplen);
	lp.netns = r.netns;
	if (nl_run(c, buf, len, link_push_cb, &lp, &e) < 0 && e.index == 0) {
		if (e.err == EEXIST && !e.ext[0]) {
			snprintf(why, sizeof(why),
				 "a link \"%s\" or \"%s\" already exists "
				 "where it would go",
				 r.name, r.peer);
			return nslab_raise(L, op, r.obj, r.netns, e.err, why);
		}
		return nslab_raise_nl(L, op, r.obj, r.netns, &e);
	}
	if (!e.err && r.peer_up && pcn != c) {
		uplen = veth_put_up(buf, r.peer)->nlmsg_len;
		nl_run(pcn, buf, uplen, NULL, NULL, &e);
	}
	if (e.err || lp.n != 1)
		return veth_undo(L, op, &r, c, &e, uplen != 0);
	lua_pushstring(L, r.peer);
	lua_setfield(L, -2, "peer");
	if (r.peer_netns) {
		lua_pushstring(L, r.peer_netns);
		lua_setfield(L, -2, "peer_netns");
	}
	return 1;
}
