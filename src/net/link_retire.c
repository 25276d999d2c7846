/*
 * link_retire.c - link.del{wait = false}: a link deleted without waiting
 * for the kernel to finish. Unregistering a device ends with an RCU
 * barrier (netdev_run_todo) in the deleting task: some 20 ms, against
 * 0.1 ms for the rest. Here the link (and a veth's peer, wherever it is)
 * is set down and renamed nsx and 12 random hex digits at once, so its name is
 * free and it carries no traffic (a peer in another netns, given peer_netns:
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
#include <sys/stat.h>
#include <unistd.h>

#include <sys/random.h>

#include <linux/if_link.h>
#include <linux/net_namespace.h>

#include "net/link.h"
#include "net/net.h"

/* What a link's RTM_NEWLINK says of it and of a veth peer. */
struct retire_info {
	int ifindex, kind, veth, peer, nsid, has_nsid;
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
			    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
				ri->kind = 1;
				ri->veth = !strcmp(mnl_attr_get_str(a), "veth");
			}
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

/* Takes link ifindex in c's netns down and renames it newname; 0 or
 * the errno (e filled). */
static int retire_one(struct nl_conn *c, int ifindex, const char *newname,
		      struct nl_err *e)
{
	char buf[512];
	size_t len = 0;

	put_retire(buf, &len, ifindex, newname);
	return nl_run(c, buf, len, NULL, NULL, e) < 0 ? e->err : 0;
}

/* A name no other link has: nsx and 12 random hex digits (a pid and a
 * counter repeat across nslab runs, each PID 1 of its own namespace). */
static void retire_name(char *out, size_t n)
{
	unsigned char r[6] = {0};

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		static unsigned int serial;
		unsigned int x =
		    (unsigned int)getpid() * 2654435761u + serial++;

		memcpy(r, &x, sizeof(x));
	}
	snprintf(out, n, "nsx%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
		 r[4], r[5]);
}

static int nsid_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWNSID)
		return MNL_CB_OK;
	mnl_attr_for_each (a, nlh, sizeof(struct rtgenmsg))
		if (mnl_attr_get_type(a) == NETNSA_NSID &&
		    mnl_attr_get_payload_len(a) >= 4)
			*(int *)data = (int)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

/* The id c's netns has for the netns of fd (RTM_GETNSID), or -1. */
static int nsid_of(struct nl_conn *c, int fd)
{
	char buf[128];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	struct nl_err e;
	int id = -1;

	nlh->nlmsg_type = RTM_GETNSID;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)fd);
	return nl_run(c, buf, nlh->nlmsg_len, nsid_cb, &id, &e) < 0 ? -1 : id;
}

/* Whether ifindex in pc's netns is the veth peer of link ri (in c's):
 * its peer is ri's ifindex, and the netns ri names by nsid is pc's (an
 * ifindex alone repeats from netns to netns). */
static int is_peer(struct nslab_state *st, struct nl_conn *c,
		   struct nl_conn *pc, const struct retire_info *ri)
{
	char buf[256];
	struct retire_info pi = {0};
	struct nl_err e;
	size_t len = link_put_getlink(buf, NULL, ri->peer)->nlmsg_len;

	if (nl_run(pc, buf, len, retire_cb, &pi, &e) < 0 || !pi.veth ||
	    pi.peer != ri->ifindex)
		return 0;
	if (!ri->has_nsid) /* both ends here */
		return pc == c && !pi.has_nsid;
	return pc != c && pi.has_nsid &&
	       nsid_of(c, nl_conn_nsfd(&st->nl, pc)) == ri->nsid;
}

int link_del_now(lua_State *L, const char *op, const char *obj,
		 const char *netns, struct nl_conn *c, const char *name,
		 int ifindex)
{
	char buf[512];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_put_request(buf, RTM_DELLINK, 0, &ifm);
	struct nl_err e;

	ifm->ifi_index = ifindex;
	if (!ifindex)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (nl_run(c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0)
		return nslab_raise(L, op, obj, netns, e.err,
				   e.err == ENODEV && !e.ext[0] ? "no such link"
								: e.ext);
	return 0;
}

/* Whether connections a and b are in one netns (their nsfs inodes). */
static int same_netns(const struct nslab_state *st, const struct nl_conn *a,
		      const struct nl_conn *b)
{
	struct stat sa, sb;

	return a == b || (fstat(nl_conn_nsfd(&st->nl, a), &sa) == 0 &&
			  fstat(nl_conn_nsfd(&st->nl, b), &sb) == 0 &&
			  sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

/* Looks link name up in netns (c) for a deletion: its ifindex, kind and
 * veth peer in ri. With peer_netns (*peer: its connection), the link must
 * be a veth whose peer is there; without, a peer in this netns is checked
 * to be the veth's own. Raises the error of a missing link or netns, or
 * EINVAL naming the netns; a link of no kind (lo) is left to the caller's
 * delete, which refuses it. */
static void look_up(lua_State *L, const char *op, const char *name,
		    const char *netns, const char *peer_netns, const char *obj,
		    struct nl_conn *c, struct nl_conn **peer,
		    struct retire_info *ri)
{
	struct nslab_state *st = nslab_state(L);
	struct nl_conn *where;
	char buf[1024];
	size_t len;
	struct nl_err e;
	int err;

	*peer = peer_netns ? nl_conn_get(&st->nl, peer_netns) : NULL;
	if (peer_netns && !*peer) {
		err = errno;
		nslab_raise(L, op, obj, netns, err,
			    lua_pushfstring(L, "peer_netns \"%s\": %s",
					    peer_netns,
					    err == ENOENT ? "no such netns"
							  : strerror(err)));
	}
	len = link_put_getlink(buf, name, 0)->nlmsg_len;
	if (nl_run(c, buf, len, retire_cb, ri, &e) < 0)
		nslab_raise(L, op, obj, netns, e.err,
			    e.err == ENODEV && !e.ext[0] ? "no such link"
							 : e.ext);
	if (!ri->kind)
		return;
	if (*peer && !ri->veth)
		nslab_raise(L, op, obj, netns, EINVAL,
			    "peer_netns is for a veth's peer, and this link "
			    "is no veth");
	if (!ri->veth || ri->peer <= 0 || (ri->has_nsid && !*peer))
		return;
	where = ri->has_nsid ? *peer : c;
	if ((!ri->has_nsid && *peer && !same_netns(st, c, *peer)) ||
	    !is_peer(st, c, where, ri))
		nslab_raise(
		    L, op, obj, netns, EINVAL,
		    lua_pushfstring(L,
				    "the veth's peer (ifindex %d) is not in "
				    "netns \"%s\"",
				    ri->peer,
				    peer_netns ? peer_netns
					       : (netns ? netns : "")));
}

int link_del_peer(lua_State *L, const char *op, const char *name,
		  const char *netns, const char *peer_netns, const char *obj)
{
	struct nl_conn *c = nslab_conn(L, op, obj, netns), *peer;
	struct retire_info ri = {0};

	look_up(L, op, name, netns, peer_netns, obj, c, &peer, &ri);
	return link_del_now(L, op, obj, netns, c, name,
			    ri.kind ? ri.ifindex : 0);
}

int link_retire(lua_State *L, const char *op, const char *name,
		const char *netns, const char *peer_netns, const char *obj)
{
	struct nslab_state *st = nslab_state(L);
	struct nl_conn *c = nslab_conn(L, op, obj, netns), *peer;
	struct retire_info ri = {0};
	char newname[IFNAMSIZ];
	struct nl_err e;
	int err = EEXIST;
	pid_t p;

	look_up(L, op, name, netns, peer_netns, obj, c, &peer, &ri);
	/* No kind (lo, a device of the machine): the kernel refuses to
	 * delete it; the waiting delete says so, changing nothing. */
	if (!ri.kind)
		return link_del_now(L, op, obj, netns, c, name, 0);
	for (int k = 0; k < 3 && err == EEXIST; k++) {
		retire_name(newname, sizeof(newname));
		err = retire_one(c, ri.ifindex, newname, &e);
	}
	/* Not renamed (and so maybe still named): deleted here, waiting. */
	if (err)
		return link_del_now(L, op, obj, netns, c, name, ri.ifindex);
	/* The peer's name freed too; if that fails it goes with the pair. */
	if (ri.veth && ri.peer > 0 && (!ri.has_nsid || peer)) {
		retire_name(newname, sizeof(newname));
		retire_one(ri.has_nsid ? peer : c, ri.peer, newname, &e);
	}
	p = nslab_bg_fork(st);
	if (p == 0)
		retire_child(nl_conn_nsfd(&st->nl, c), ri.ifindex);
	if (p < 0)
		return link_del_now(L, op, obj, netns, c, name, ri.ifindex);
	return 0;
}
