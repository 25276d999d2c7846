/*
 * link.c - links: changing a link (up/down, mtu, MAC, master, rename,
 * move to another netns), deleting it, and the link.* table (veth in
 * link_veth.c, other kinds in link_kind.c, kind_available in
 * link_probe.c, reading in link_get.c).
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

#include "net/link.h"
#include "net/net.h"

/* ---- set ---- */

static const char *const set_fields[] = {
    "up", "mtu", "address", "master", "nomaster", "name", "netns_to", NULL,
};
static const char *const netns_field[] = {"netns", NULL};

/* link.set's arguments as read and checked, and the links they name. */
struct set_req {
	const char *name, *newname, *master, *netns, *netns_to, *obj;
	struct link_common lc;
	int nomaster;
	struct nl_conn *c, *to; /* the link's netns, the target (or NULL) */
	int index, mindex;	/* the link's (0: named by IFLA_IFNAME), the
				   master's */
};

/* Reads and checks link.set's arguments 1..3 into q; raises argument
 * errors for types and fields, EINVAL objects for values. */
static void set_read(lua_State *L, const char *op, struct set_req *q)
{
	int has_nomaster;

	q->name = nslab_checkstr(L, 1, op, "ifname");
	luaL_checktype(L, 2, LUA_TTABLE);
	nslab_check_fields(L, 2, set_fields);
	nslab_check_fields(L, 3, netns_field);
	nslab_check_ifname(L, op, q->name);
	q->netns = nslab_opt_netns(L, 3, op);
	q->obj = link_obj(L, q->name);
	q->newname = opt_ifname(L, 2, "name", op);
	q->master = opt_ifname(L, 2, "master", op);
	has_nomaster = opt_boolean(L, 2, "nomaster", &q->nomaster);
	if (q->master && has_nomaster && q->nomaster)
		luaL_argerror(L, 2,
			      "'master' and 'nomaster' exclude each other");
	q->netns_to = opt_netns(L, 2, "netns_to", op);
	link_read_common(L, 2, "", op, q->obj, q->netns, &q->lc);
}

/*
 * Opens q's netns and target netns and reads the ifindexes the message
 * needs: the link's when renamed or moved (IFLA_IFNAME then names the new
 * link), the master's. Raises the error object naming what is missing.
 */
static void set_resolve(lua_State *L, const char *op, struct set_req *q)
{
	struct nl_err e;

	q->c = nslab_conn(L, op, q->obj, q->netns);
	q->to =
	    q->netns_to ? nl_conn_get(&nslab_state(L)->nl, q->netns_to) : NULL;
	if (q->netns_to && !q->to) {
		/* the link is where it was: blame the target, named so */
		int err = errno;

		nslab_raise(L, op, q->obj, q->netns, err,
			    lua_pushfstring(L, "target netns \"%s\"%s",
					    q->netns_to,
					    err == ENOENT    ? " does not exist"
					    : err == ELOOP   ? " is a symlink"
					    : err == ENOTSUP ? " is not a netns"
							     : ""));
	}
	/* Named by IFLA_IFNAME unless renamed or moved: one round trip. */
	q->index = q->newname || q->to ? nl_ifindex(q->c, q->name, &e) : 0;
	if (q->index < 0)
		nslab_raise(L, op, q->obj, q->netns, e.err,
			    e.ext[0] ? e.ext : "no such link");
	q->mindex = q->master ? nl_ifindex(q->c, q->master, &e) : 0;
	if (q->mindex < 0)
		nslab_raise(L, op, q->obj, q->netns, e.err,
			    lua_pushfstring(L, "master \"%s\": %s", q->master,
					    e.ext[0] ? e.ext : "no such link"));
}

/* Builds in buf the RTM_NEWLINK (no NLM_F_CREATE) applying q. */
static struct nlmsghdr *set_put(char *buf, struct nl_cache *nl,
				const struct set_req *q)
{
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_put_request(buf, RTM_NEWLINK, 0, &ifm);

	ifm->ifi_index = q->index;
	if (q->newname)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, q->newname);
	else if (!q->index)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, q->name);
	if (q->to)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD,
				 (uint32_t)nl_conn_nsfd(nl, q->to));
	if (q->master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)q->mindex);
	else if (q->nomaster)
		mnl_attr_put_u32(nlh, IFLA_MASTER, 0);
	link_put_common(nlh, ifm, &q->lc);
	return nlh;
}

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
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct set_req q = {0};
	struct nlmsghdr *nlh;
	struct nl_err e;

	set_read(L, op, &q);
	set_resolve(L, op, &q);
	nlh = set_put(buf, &nslab_state(L)->nl, &q);
	if (nl_run(q.c, buf, nlh->nlmsg_len, NULL, NULL, &e) == 0)
		return 0;
	/* the kernel says "the target netns": say which */
	if (q.to && e.err == EEXIST)
		return nslab_raise(
		    L, op, q.obj, q.netns, e.err,
		    lua_pushfstring(L, "%s (target netns \"%s\": name \"%s\")",
				    e.ext[0] ? e.ext
					     : "an interface with the same "
					       "name exists",
				    q.netns_to,
				    q.newname ? q.newname : q.name));
	return nslab_raise(L, op, q.obj, q.netns, e.err,
			   e.err == ENODEV && !e.ext[0] ? "no such link"
							: e.ext);
}

/* ---- del ---- */

static const char *const del_fields[] = {"netns", "wait", "peer_netns", NULL};

/*
 * link.del(name, opts): RTM_DELLINK by IFLA_IFNAME. Deleting either end
 * of a veth deletes both; deleting a bridge frees its ports. opts.wait
 * false: returns at once, the rest in the background (link_retire.c).
 */
static int l_link_del(lua_State *L)
{
	static const char op[] = "link.del";
	const char *name = nslab_checkstr(L, 1, op, "ifname"), *netns, *obj,
		   *peer_netns;
	int wait = 1;

	nslab_check_fields(L, 2, del_fields);
	nslab_check_ifname(L, op, name);
	netns = nslab_opt_netns(L, 2, op);
	peer_netns = NULL;
	if (lua_istable(L, 2)) {
		opt_boolean(L, 2, "wait", &wait);
		peer_netns = opt_netns(L, 2, "peer_netns", op);
	}
	obj = link_obj(L, name);
	if (!wait)
		return link_retire(L, op, name, netns, peer_netns, obj);
	if (peer_netns)
		return link_del_peer(L, op, name, netns, peer_netns, obj);
	return link_del_now(L, op, obj, netns, nslab_conn(L, op, obj, netns),
			    name, 0);
}

/*
 * link.settle() -> n, failed: waits for the deletions link.del{wait =
 * false} left running; n of them, failed of which the kernel refused.
 */
static int l_link_settle(lua_State *L)
{
	int failed, n = nslab_bg_take(nslab_state(L), &failed);

	lua_pushinteger(L, n);
	lua_pushinteger(L, failed);
	return 2;
}

static const luaL_Reg funcs[] = {
    {"veth", l_link_veth},
    {"add", l_link_add},
    {"set", l_link_set},
    {"del", l_link_del},
    {"settle", l_link_settle},
    {"get", l_link_get},
    {"list", l_link_list},
    {"kind_available", l_link_kind_available},
    {NULL, NULL},
};

void nslab_open_link(lua_State *L)
{
	nslab_newlib(L, "link", funcs);
}
