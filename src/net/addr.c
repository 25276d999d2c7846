/*
 * addr.c - IPv4 and IPv6 addresses on links: add (RTM_NEWADDR), delete
 * (RTM_DELADDR), and the addr.* table (list in addr_list.c; the wait for
 * DAD in addr_dad.c).
 *
 * Read: rtnetlink(7), ip-address(8), RFC 4862, linux/if_addr.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ipv6.h>
#include <linux/rtnetlink.h>

#include "net/addr.h"
#include "net/net.h"

/* ---- addr.add ---- */

static const char *const add_fields[] = {
    "netns", "broadcast",     "nodad", "scope", "peer",
    "label", "noprefixroute", "wait",  NULL,
};

/* Reads opts.broadcast: 1 = computed (absent or true), 0 = none (false),
 * 2 = the given address in brd. Raises on a bad value. */
static int addr_opt_broadcast(lua_State *L, const char *object,
			      const char *netns, unsigned char brd[4])
{
	struct inet_addr b;
	const char *s;

	if (!lua_istable(L, 3))
		return 1;
	switch (lua_getfield(L, 3, "broadcast")) {
	case LUA_TNIL:
		lua_pop(L, 1);
		return 1;
	case LUA_TBOOLEAN:
		brd[0] = (unsigned char)lua_toboolean(L, -1);
		lua_pop(L, 1);
		return brd[0] ? 1 : 0;
	case LUA_TSTRING:
		s = nslab_nonul(L, -1, "addr.add", "broadcast");
		inet_check(L, "addr.add", object, netns, s, AF_INET, 0, &b);
		memcpy(brd, b.bytes, 4);
		lua_pop(L, 1);
		return 2;
	default:
		return luaL_argerror(
		    L, 3, "field 'broadcast' must be an address or a boolean");
	}
}

/* Raises EINVAL for option `field` given with the wrong family. */
static void addr_only(lua_State *L, const char *object, const char *netns,
		      int given, const char *field, const char *family)
{
	char why[120];

	if (!given)
		return;
	snprintf(why, sizeof(why), "%s applies to %s addresses only", field,
		 family);
	nslab_raise(L, "addr.add", object, netns, EINVAL, why);
}

/*
 * addr.add(ifname, "addr/prefixlen", opts) -> address table (as listed).
 * RTM_NEWADDR with NLM_F_CREATE|NLM_F_EXCL, so an existing address is
 * EEXIST. IPv4 gets IFA_BROADCAST computed as `brd +` does (host bits set,
 * none for /31 and /32) unless opts.broadcast says otherwise, and host
 * scope for 127/8 as iproute2 gives it. See addr_wait_dad for IPv6.
 */
static int l_addr_add(lua_State *L)
{
	const char *ifname = nslab_checkstr(L, 1, "addr.add", "ifname");
	const char *text = nslab_checkstr(L, 2, "addr.add", "address");
	const char *netns, *object, *peer, *label;
	char buf[512];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	struct inet_addr a, p;
	struct addr_link k;
	struct addr_row r;
	struct nl_conn *c;
	struct nl_err e;
	int brd_mode, nodad, noprefixroute, wait, v4;
	long long scope;

	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	nslab_check_fields(L, 3, add_fields);
	netns = nslab_opt_netns(L, 3, "addr.add");
	object = lua_pushfstring(L, "%s dev %s", text, ifname);
	nslab_check_ifname(L, "addr.add", ifname);
	inet_check(L, "addr.add", object, netns, text, AF_UNSPEC, 1, &a);
	v4 = a.family == AF_INET;
	memset(&r, 0, sizeof(r));
	brd_mode = addr_opt_broadcast(L, object, netns, r.brd);
	nodad = opt_flag(L, 3, "nodad", 0);
	noprefixroute = opt_flag(L, 3, "noprefixroute", 0);
	wait = opt_flag(L, 3, "wait", 1);
	scope = opt_named(L, 3, "scope", inet_scopes, 255, "addr.add", object,
			  netns);
	peer = opt_string(L, 3, "peer");
	label = opt_string(L, 3, "label");
	addr_only(L, object, netns, !v4 && brd_mode == 2, "broadcast", "inet");
	addr_only(L, object, netns, !v4 && scope >= 0, "scope", "inet");
	addr_only(L, object, netns, !v4 && label, "label", "inet");
	addr_only(L, object, netns, v4 && nodad, "nodad", "inet6");
	if (peer)
		inet_check(L, "addr.add", object, netns, peer, a.family, 0, &p);
	if (label && (strncmp(label, ifname, strlen(ifname)) != 0 ||
		      strlen(label) >= IFNAMSIZ))
		nslab_raise(L, "addr.add", object, netns, EINVAL,
			    "label must start with the interface name and "
			    "fit in 15 bytes");

	r.family = a.family;
	r.prefixlen = a.prefixlen;
	memcpy(r.local, a.bytes, inet_len(a.family));
	if (peer)
		memcpy(r.peer, p.bytes, inet_len(a.family)), r.has_peer = 1;
	if (v4 && brd_mode == 1 && a.prefixlen < 31) {
		uint32_t ip, mask = htonl(~0u << (32 - a.prefixlen));

		memcpy(&ip, a.bytes, 4);
		ip |= ~mask;
		memcpy(r.brd, &ip, 4);
	}
	r.has_brd =
	    v4 && (brd_mode == 2 || (brd_mode == 1 && a.prefixlen < 31));
	r.scope = scope >= 0		    ? (int)scope
		  : v4 && a.bytes[0] == 127 ? RT_SCOPE_HOST
					    : RT_SCOPE_UNIVERSE;
	r.flags = (nodad ? IFA_F_NODAD : 0) |
		  (noprefixroute ? IFA_F_NOPREFIXROUTE : 0);
	if (label)
		snprintf(r.label, sizeof(r.label), "%s", label);

	c = nslab_conn(L, "addr.add", object, netns);
	addr_link_get(L, c, "addr.add", object, netns, ifname, &k);
	r.ifindex = k.ifindex;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)a.family;
	ifa->ifa_prefixlen = (unsigned char)a.prefixlen;
	ifa->ifa_flags = (unsigned char)r.flags;
	ifa->ifa_scope = (unsigned char)r.scope;
	ifa->ifa_index = (unsigned)k.ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, inet_len(a.family), r.local);
	mnl_attr_put(nlh, IFA_ADDRESS, inet_len(a.family),
		     peer ? r.peer : r.local);
	if (r.has_brd)
		mnl_attr_put(nlh, IFA_BROADCAST, 4, r.brd);
	if (label)
		mnl_attr_put_strz(nlh, IFA_LABEL, label);
	mnl_attr_put_u32(nlh, IFA_FLAGS, r.flags);
	if (nl_run(c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0) {
		if (!e.ext[0] && e.err == EEXIST)
			snprintf(e.ext, sizeof(e.ext),
				 "the address is already on %s", ifname);
		return nslab_raise_nl(L, "addr.add", object, netns, &e);
	}
	/* The kernel marks every new IPv6 address tentative unless nodad. */
	if (!v4 && !nodad)
		r.flags |= IFA_F_TENTATIVE;
	if (!v4 && !nodad && wait && (k.flags & IFF_UP) &&
	    (k.flags & IFF_LOWER_UP))
		addr_wait_dad(L, c, object, netns, &k, &r, ifname);
	r.flags |= IFA_F_PERMANENT;
	addr_push_row(L, &r, ifname);
	return 1;
}

/* ---- addr.del ---- */

static const char *const del_fields[] = {"netns", NULL};

/*
 * addr.del(ifname, "addr/prefixlen", opts): RTM_DELADDR for exactly that
 * address and prefixlen (absent /len: 32 or 128). EADDRNOTAVAIL when the
 * link has no such address.
 */
static int l_addr_del(lua_State *L)
{
	const char *ifname = nslab_checkstr(L, 1, "addr.del", "ifname");
	const char *text = nslab_checkstr(L, 2, "addr.del", "address");
	const char *netns, *object;
	char buf[256];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	struct inet_addr a;
	struct nl_conn *c;
	struct nl_err e;
	int index;

	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	nslab_check_fields(L, 3, del_fields);
	netns = nslab_opt_netns(L, 3, "addr.del");
	object = lua_pushfstring(L, "%s dev %s", text, ifname);
	nslab_check_ifname(L, "addr.del", ifname);
	inet_check(L, "addr.del", object, netns, text, AF_UNSPEC, 1, &a);
	c = nslab_conn(L, "addr.del", object, netns);
	index = inet_ifindex(L, c, "addr.del", object, netns, ifname);

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_DELADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)a.family;
	ifa->ifa_prefixlen = (unsigned char)a.prefixlen;
	ifa->ifa_index = (unsigned)index;
	mnl_attr_put(nlh, IFA_LOCAL, inet_len(a.family), a.bytes);
	if (a.family == AF_INET)
		mnl_attr_put(nlh, IFA_ADDRESS, 4, a.bytes);
	if (nl_run(c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0) {
		if (!e.ext[0] && e.err == EADDRNOTAVAIL)
			snprintf(e.ext, sizeof(e.ext), "%s has no such address",
				 ifname);
		return nslab_raise_nl(L, "addr.del", object, netns, &e);
	}
	return 0;
}

static const luaL_Reg funcs[] = {
    {"add", l_addr_add},
    {"del", l_addr_del},
    {"list", l_addr_list},
    {NULL, NULL},
};

void nslab_open_addr(lua_State *L)
{
	nslab_newlib(L, "addr", funcs);
}
