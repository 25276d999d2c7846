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
	newname = opt_ifname(L, 2, "name", op);
	master = opt_ifname(L, 2, "master", op);
	has_nomaster = opt_boolean(L, 2, "nomaster", &nomaster);
	if (master && has_nomaster && nomaster)
		luaL_argerror(L, 2,
			      "'master' and 'nomaster' exclude each other");
	netns_to = opt_netns(L, 2, "netns_to", op);
	link_read_common(L, 2, "", op, obj, netns, &lc);

	c = nslab_conn(L, op, obj, netns);
	if (netns_to && !(to = nl_conn_get(&nslab_state(L)->nl, netns_to))) {
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
				 (uint32_t)nl_conn_nsfd(&st->nl, to));
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
