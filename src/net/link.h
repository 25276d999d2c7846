/*
 * link.h - what the link files share: reading and checking option tables
 * (ifnames, mtu, MAC addresses), the attributes every RTM_NEWLINK carries,
 * and the RTM_NEWLINK parser that turns a link into a Lua table.
 *
 * link.c       set, del, the module table
 * link_veth.c  veth
 * link_kind.c  add (bridge, vxlan, macvlan, ...)
 * link_probe.c kind_available
 * link_get.c   get, list
 * link_tun.c   tun and tap (through /dev/net/tun)
 * link_msg.c   request headers, common attributes, the RTM_NEWLINK parser
 */
#ifndef LINK_H
#define LINK_H

#include <net/if.h>

#include <linux/rtnetlink.h>

#include "core/core.h"

/* IPv4 needs 68 bytes (RFC 791); 65535 is ETH_MAX_MTU and IP_MAX_MTU. */
#define LINK_MTU_MIN 68
#define LINK_MTU_MAX 65535

/* mtu=, address=, up= as read from an option table. */
struct link_common {
	int has_mtu, has_mac, has_up;
	unsigned int mtu;
	unsigned char mac[6];
	int up;
};

/*
 * Reads mtu=, address= and up= (prefix "" or "peer_" for the field
 * names), raising EINVAL error objects for an mtu outside 68..65535 or a
 * MAC that is not a unicast "xx:xx:xx:xx:xx:xx".
 */
void link_read_common(lua_State *L, int idx, const char *prefix, const char *op,
		      const char *obj, const char *netns,
		      struct link_common *lc);

/* Puts IFLA_MTU, IFLA_ADDRESS and the IFF_UP flag change. */
void link_put_common(struct nlmsghdr *nlh, struct ifinfomsg *ifm,
		     const struct link_common *lc);

/* mnl_attr_parse callback filling tb[IFLA_MAX + 1] (data) by type. */
int link_attr_cb(const struct nlattr *a, void *data);

/* `"name"`, pushed on the stack: the object of error messages. */
const char *link_obj(lua_State *L, const char *name);

/* Starts an RTM_* request for links in buf: header and ifinfomsg. */
struct nlmsghdr *link_put_request(void *buf, int type, int flags,
				  struct ifinfomsg **ifm);

/* One end of a veth pair to make: its name, ifindex (0: the kernel's
 * choice), namespace (IFLA_NET_NS_FD; -1: the socket's) and mtu, MAC, up. */
struct link_veth_end {
	const char *name;
	int ifindex, nsfd;
	const struct link_common *lc;
};

/* Puts in buf the RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL) making the veth
 * pair a -- b in one request, each end with queues tx and rx queues
 * (link_veth.c). */
struct nlmsghdr *link_put_veth(void *buf, const struct link_veth_end *a,
			       const struct link_veth_end *b, uint32_t queues);

/*
 * RTM_DELLINK of ifindex (0: of name, by IFLA_IFNAME) in c's netns,
 * waiting for the kernel (link.del, and link_retire.c where no background
 * child can). Returns 0, or raises the error object for op and obj (ENODEV
 * "no such link").
 */
int link_del_now(lua_State *L, const char *op, const char *obj,
		 const char *netns, struct nl_conn *c, const char *name,
		 int ifindex);

/*
 * link.del{wait = false} of name in netns (link_retire.c): sets the link
 * (and a veth's peer, in its netns or peer_netns) down, renames it (them)
 * so the name is free, and leaves RTM_DELLINK to a background child.
 * Returns 0 (Lua results) or raises the error object for op and obj.
 */
int link_retire(lua_State *L, const char *op, const char *name,
		const char *netns, const char *peer_netns, const char *obj);

/*
 * link.del{peer_netns =} of name in netns, waiting (link_retire.c): the
 * same check of a veth's peer as link_retire makes (EINVAL, nothing
 * deleted, when the peer is not in peer_netns), then link_del_now.
 */
int link_del_peer(lua_State *L, const char *op, const char *name,
		  const char *netns, const char *peer_netns, const char *obj);

/* Appends an RTM_GETLINK for ifname (or ifindex when ifname is NULL). */
struct nlmsghdr *link_put_getlink(void *buf, const char *ifname, int ifindex);

/*
 * State for link_push_cb: each RTM_NEWLINK answer becomes a table; with
 * list set it is appended to the array at index tab, else left on top.
 */
struct link_push {
	lua_State *L;
	const char *netns;
	int list, tab, n;
};
int link_push_cb(const struct nlmsghdr *nlh, void *data);

/* Sets t[k] = "aa:bb:..." in the table on top from a hardware address
 * attribute a (nothing when a is NULL, empty or over 32 bytes). */
void link_set_hwaddr(lua_State *L, const char *k, const struct nlattr *a);

/*
 * Pushes the table of one RTM_NEWLINK (or RTM_DELLINK) message nlh, of
 * at least a full ifinfomsg: the fields link.get returns but master (the
 * caller resolves master_ifindex); netns (may be NULL) is set as given.
 */
void link_push_msg(lua_State *L, const struct nlmsghdr *nlh, const char *netns);

/*
 * Sets t.master (ifname) in the link table on top when it has
 * master_ifindex, asking the kernel over c. Raises on failure.
 */
void link_resolve_master(lua_State *L, struct nl_conn *c, const char *netns);

/* The functions of nslab.core.link living outside link.c (link_get.c,
 * link_kind.c, link_veth.c, link_probe.c). */
int l_link_get(lua_State *L);
int l_link_list(lua_State *L);
int l_link_add(lua_State *L);
int l_link_veth(lua_State *L);
int l_link_kind_available(lua_State *L);

/* kind, checked as the kernel would take a kind name ([A-Za-z0-9_.-],
 * 1..31 bytes); raises an argument error for arg otherwise. */
const char *link_check_kind(lua_State *L, int arg, const char *kind);

/* Whether e is the kernel's "Unknown device type" (no such kind). */
int link_unknown_type(const struct nl_err *e);

/*
 * The text of an "Unknown device type" refusal for kind: names the kernel
 * option (CONFIG_DUMMY) and module that provide it.
 */
const char *link_kind_missing(lua_State *L, const char *kind);

/* ---- link_tun.c ---- */

/* IFF_TUN for "tun", IFF_TAP for "tap", else 0. */
int link_tun_kind(const char *kind);

/*
 * link.add for kind "tun" or "tap": creates the persistent device through
 * /dev/net/tun inside netns (the kernel refuses them over rtnetlink),
 * applies lc and pushes the link table (returns 1). Raises the error
 * object for op/obj/netns (EEXIST: name taken; ENOENT: no /dev/net/tun),
 * leaving nothing behind.
 */
int link_add_tun(lua_State *L, struct nl_conn *c, const char *op,
		 const char *obj, const char *netns, const char *name,
		 const char *kind, const struct link_common *lc);

/* Whether /dev/net/tun can be opened: 1, or 0 with the reason in *why. */
int link_tun_available(const char **why);

#endif
