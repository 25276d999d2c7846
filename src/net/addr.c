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

/* addr.add's arguments as read and checked. */
struct addr_req {
	const char *ifname, *netns, *object;
	struct addr_row r; /* the address to add, as addr.list shows it */
	int wait;
};

/*
 * IFA_BROADCAST as `brd +` computes it for an IPv4 prefix below /31 (the
 * host bits set), or as opts.broadcast gives it (mode as
 * addr_opt_broadcast returns).
 */
void addr_set_broadcast(struct addr_row *r, int mode)
{
	if (r->family != AF_INET)
		return;
	if (mode == 1 && r->prefixlen < 31) {
		uint32_t ip, mask = htonl(~0u << (32 - r->prefixlen));

		memcpy(&ip, r->local, 4);
		ip |= ~mask;
		memcpy(r->brd, &ip, 4);
	}
	r->has_brd = mode == 2 || (mode == 1 && r->prefixlen < 31);
}

/*
 * Reads and checks addr.add's options (stack index 3) into q, whose
 * address a is already read: argument errors for types and fields, EINVAL
 * objects for values (an option of the other family, a bad label).
 */
static void addr_read_opts(lua_State *L, struct addr_req *q,
			   const struct inet_addr *a)
{
	struct addr_row *r = &q->r;
	const char *peer, *label, *object = q->object, *netns = q->netns;
	int v4 = a->family == AF_INET, mode, nodad, noprefixroute;
	struct inet_addr p;
	long long scope;

	mode = addr_opt_broadcast(L, object, netns, r->brd);
	nodad = opt_flag(L, 3, "nodad", 0);
	noprefixroute = opt_flag(L, 3, "noprefixroute", 0);
	q->wait = opt_flag(L, 3, "wait", 1);
	scope = opt_named(L, 3, "scope", inet_scopes, 255, "addr.add", object,
			  netns);
	peer = opt_string(L, 3, "peer");
	label = opt_string(L, 3, "label");
	addr_only(L, object, netns, !v4 && mode == 2, "broadcast", "inet");
	addr_only(L, object, netns, !v4 && scope >= 0, "scope", "inet");
	addr_only(L, object, netns, !v4 && label, "label", "inet");
	addr_only(L, object, netns, v4 && nodad, "nodad", "inet6");
	if (peer) {
		inet_check(L, "addr.add", object, netns, peer, a->family, 0,
			   &p);
		memcpy(r->peer, p.bytes, inet_len(a->family));
		r->has_peer = 1;
	}
	if (label && (strncmp(label, q->ifname, strlen(q->ifname)) != 0 ||
		      strlen(label) >= IFNAMSIZ))
		nslab_raise(L, "addr.add", object, netns, EINVAL,
			    "label must start with the interface name and "
			    "fit in 15 bytes");
	if (label)
		snprintf(r->label, sizeof(r->label), "%s", label);
	addr_set_broadcast(r, mode);
	r->scope = scope >= 0		      ? (int)scope
		   : v4 && a->bytes[0] == 127 ? RT_SCOPE_HOST
					      : RT_SCOPE_UNIVERSE;
	r->flags = (nodad ? IFA_F_NODAD : 0) |
		   (noprefixroute ? IFA_F_NOPREFIXROUTE : 0);
}

/* Reads and checks addr.add's arguments 1..3 into q. */
static void addr_read(lua_State *L, struct addr_req *q)
{
	const char *text;
	struct inet_addr a;

	q->ifname = nslab_checkstr(L, 1, "addr.add", "ifname");
	text = nslab_checkstr(L, 2, "addr.add", "address");
	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	nslab_check_fields(L, 3, add_fields);
	q->netns = nslab_opt_netns(L, 3, "addr.add");
	q->object = lua_pushfstring(L, "%s dev %s", text, q->ifname);
	nslab_check_ifname(L, "addr.add", q->ifname);
	inet_check(L, "addr.add", q->object, q->netns, text, AF_UNSPEC, 1, &a);
	memset(&q->r, 0, sizeof(q->r));
	q->r.family = a.family;
	q->r.prefixlen = a.prefixlen;
	memcpy(q->r.local, a.bytes, inet_len(a.family));
	addr_read_opts(L, q, &a);
}

/* Builds in buf the RTM_NEWADDR (NLM_F_CREATE|NLM_F_EXCL) adding r. */
struct nlmsghdr *addr_put(char *buf, const struct addr_row *r)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)r->family;
	ifa->ifa_prefixlen = (unsigned char)r->prefixlen;
	ifa->ifa_flags = (unsigned char)r->flags;
	ifa->ifa_scope = (unsigned char)r->scope;
	ifa->ifa_index = (unsigned)r->ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, inet_len(r->family), r->local);
	mnl_attr_put(nlh, IFA_ADDRESS, inet_len(r->family),
		     r->has_peer ? r->peer : r->local);
	if (r->has_brd)
		mnl_attr_put(nlh, IFA_BROADCAST, 4, r->brd);
	if (r->label[0])
		mnl_attr_put_strz(nlh, IFA_LABEL, r->label);
	mnl_attr_put_u32(nlh, IFA_FLAGS, r->flags);
	return nlh;
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
	struct addr_req q;
	struct addr_row *r = &q.r;
	char buf[512];
	struct nlmsghdr *nlh;
	struct addr_link k;
	struct nl_conn *c;
	struct nl_err e;
	int dad;

	addr_read(L, &q);
	c = nslab_conn(L, "addr.add", q.object, q.netns);
	addr_link_get(L, c, "addr.add", q.object, q.netns, q.ifname, &k);
	r->ifindex = k.ifindex;
	nlh = addr_put(buf, r);
	if (nl_run(c, buf, nlh->nlmsg_len, NULL, NULL, &e) < 0) {
		if (!e.ext[0] && e.err == EEXIST)
			snprintf(e.ext, sizeof(e.ext),
				 "the address is already on %s", q.ifname);
		return nslab_raise_nl(L, "addr.add", q.object, q.netns, &e);
	}
	/* The kernel marks every new IPv6 address tentative unless nodad. */
	dad = r->family == AF_INET6 && !(r->flags & IFA_F_NODAD);
	if (dad)
		r->flags |= IFA_F_TENTATIVE;
	if (dad && q.wait && (k.flags & IFF_UP) && (k.flags & IFF_LOWER_UP))
		addr_wait_dad(L, c, q.object, q.netns, &k, r, q.ifname);
	r->flags |= IFA_F_PERMANENT;
	addr_push_row(L, r, q.ifname);
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
    {"add", l_addr_add},       {"del", l_addr_del}, {"list", l_addr_list},
    {"settle", l_addr_settle}, {NULL, NULL},
};

void nslab_open_addr(lua_State *L)
{
	nslab_newlib(L, "addr", funcs);
}
