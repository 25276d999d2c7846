/*
 * link_retire.c - link.del{wait = false}: a link deleted without waiting
 * for the kernel to finish. Unregistering a device ends with an RCU
 * barrier (netdev_run_todo) in the deleting task: some 20 ms, against
 * 0.1 ms for the rest. Here the link (and a veth's peer, wherever it is)
 * is set down and renamed nsxPPPPPPCCCCCC at once, so its name is free
 * and it carries no traffic (a peer in another netns, given peer_netns:
 * RTM_SETLINK looks ifindexes up in the socket's own netns only); a background
 * child (core/bg.c) sends the RTM_DELLINK from a socket of its own in the
 * link's netns and waits the barrier out. The link is gone when the child has
 * exited: link.settle (and lab:close) wait for that.
 *
 * Netlink: RTM_GETLINK (IFLA_LINKINFO/IFLA_INFO_KIND, IFLA_LINK,
 * IFLA_LINK_NETNSID), RTM_NEWLINK (IFF_UP cleared, IFLA_IFNAME),
 * RTM_DELLINK by ifindex.
 * Read: rtnetlink(7), veth(4), setns(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_link.h>

#include "net/link.h"
#include "net/net.h"

/* What a link's RTM_NEWLINK says of it and of a veth peer. */
struct retire_info {
	int ifindex, veth, peer, nsid, has_nsid;
};

static int retire_cb(const struct nlmsghdr *nlh, void *data)
{
	struct retire_info *ri = data;
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, tb);
	ri->ifindex = ifm->ifi_index;
	if (tb[IFLA_LINKINFO])
		mnl_attr_for_each_nested (a, tb[IFLA_LINKINFO])
			if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
			    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 &&
			    !strcmp(mnl_attr_get_str(a), "veth"))
				ri->veth = 1;
	if (tb[IFLA_LINK] && mnl_attr_get_payload_len(tb[IFLA_LINK]) >= 4)
		ri->peer = (int)mnl_attr_get_u32(tb[IFLA_LINK]);
	if (tb[IFLA_LINK_NETNSID] &&
	    mnl_attr_get_payload_len(tb[IFLA_LINK_NETNSID]) >= 4) {
		ri->nsid = (int)mnl_attr_get_u32(tb[IFLA_LINK_NETNSID]);
		ri->has_nsid = 1;
	}
	return MNL_CB_OK;
}

/* Appends to buf (at *len) the two RTM_NEWLINK taking ifindex down and
 * renaming it. */
static void put_retire(char *buf, size_t *len, int ifindex, const char *newname)
{
	for (int k = 0; k < 2; k++) {
		struct ifinfomsg *ifm;
		struct nlmsghdr *nlh =
		    link_put_request(buf + *len, RTM_NEWLINK, 0, &ifm);

		ifm->ifi_index = ifindex;
		if (k == 0)
			ifm->ifi_change = IFF_UP; /* down: a name change
						     needs it */
		else
			mnl_attr_put_strz(nlh, IFLA_IFNAME, newname);
		*len += NLMSG_ALIGN(nlh->nlmsg_len);
	}
}

/* In the background child: RTM_DELLINK of ifindex from a socket of its
 * own in nsfd's netns. Exits 0, or with the errno of the failure. */
_Noreturn static void retire_child(int nsfd, int ifindex)
{
	char buf[256], rbuf[1024];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh =
	    link_put_request(buf, RTM_DELLINK, NLM_F_ACK, &ifm);
	ssize_t r;
	int fd;

	ifm->ifi_index = ifindex;
	if (setns(nsfd, CLONE_NEWNET) < 0)
		_exit(errno & 0xff);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		_exit(errno & 0xff);
	nlh->nlmsg_seq = 1;
	if (send(fd, buf, nlh->nlmsg_len, 0) < 0)
		_exit(errno & 0xff);
	r = recv(fd, rbuf, sizeof(rbuf), 0);
	if (r >= (ssize_t)(NLMSG_HDRLEN + sizeof(struct nlmsgerr))) {
		const struct nlmsghdr *a = (const void *)rbuf;
		const struct nlmsgerr *me = mnl_nlmsg_get_payload(a);

		if (a->nlmsg_type == NLMSG_ERROR)
			_exit((-me->error) & 0xff);
	}
	_exit(r < 0 ? errno & 0xff : 0);
}

/* Takes link ifindex in c's netns down and renames it; raises. */
static void retire_one(lua_State *L, const char *op, const char *obj,
		       const char *netns, struct nl_conn *c, int ifindex,
		       const char *newname)
{
	char buf[512];
	size_t len = 0;
	struct nl_err e;

	put_retire(buf, &len, ifindex, newname);
	if (nl_run(c, buf, len, NULL, NULL, &e) < 0)
		nslab_raise(
		    L, op, obj, netns, e.err,
		    lua_pushfstring(L,
				    "set down and renamed for "
				    "deleting: %s",
				    e.ext[0] ? e.ext : strerror(e.err)));
}

int link_retire(lua_State *L, const char *op, const char *name,
		const char *netns, const char *peer_netns, const char *obj)
{
	static unsigned int serial;
	struct nslab_state *st = nslab_state(L);
	struct nl_conn *c = nslab_conn(L, op, obj, netns);
	/* (a missing peer_netns is an error even for a peer found here) */
	struct nl_conn *peer =
	    peer_netns ? nslab_conn(L, op, obj, peer_netns) : NULL;
	struct retire_info ri = {0};
	char buf[1024], names[2][IFNAMSIZ];
	size_t len;
	struct nl_err e;
	pid_t p;

	len = link_put_getlink(buf, name, 0)->nlmsg_len;
	if (nl_run(c, buf, len, retire_cb, &ri, &e) < 0)
		return nslab_raise(L, op, obj, netns, e.err,
				   e.err == ENODEV && !e.ext[0] ? "no such link"
								: e.ext);
	for (int k = 0; k < 2; k++)
		snprintf(names[k], sizeof(names[k]), "nsx%06x%06x",
			 (unsigned int)getpid() & 0xffffff,
			 serial++ & 0xffffff);
	if (ri.veth && ri.peer > 0 && (!ri.has_nsid || peer)) {
		struct nl_conn *pc = ri.has_nsid ? peer : c;
		struct retire_info pi = {0};

		/* that ifindex there must be this veth's peer: never rename
		 * a stranger because peer_netns named the wrong netns */
		len = link_put_getlink(buf, NULL, ri.peer)->nlmsg_len;
		if (nl_run(pc, buf, len, retire_cb, &pi, &e) < 0 || !pi.veth ||
		    pi.peer != ri.ifindex)
			return nslab_raise(
			    L, op, obj, netns, EINVAL,
			    lua_pushfstring(
				L,
				"the veth's peer (ifindex %d) is not "
				"in netns \"%s\"",
				ri.peer,
				pc == c ? (netns ? netns : "") : peer_netns));
		retire_one(L, op, obj, pc == c ? netns : peer_netns, pc,
			   ri.peer, names[1]);
	}
	retire_one(L, op, obj, netns, c, ri.ifindex, names[0]);
	p = nslab_bg_fork(st);
	if (p == 0)
		retire_child(nl_conn_nsfd(&st->nl, c), ri.ifindex);
	if (p < 0) {
		/* no child: delete it here, waiting */
		struct ifinfomsg *ifm;
		struct nlmsghdr *nlh =
		    link_put_request(buf, RTM_DELLINK, 0, &ifm);

		ifm->ifi_index = ri.ifindex;
		if (nl_run(c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0)
			return nslab_raise(L, op, obj, netns, e.err, e.ext);
	}
	nslab_bg_settle(st, 0, NULL);
	return 0;
}
