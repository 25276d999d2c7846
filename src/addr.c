/*
 * addr.c - IPv4 and IPv6 addresses on links: add (RTM_NEWADDR), delete
 * (RTM_DELADDR), list (RTM_GETADDR dump, IFA_FLAGS for the 32-bit flags).
 *
 * A new IPv6 address is tentative while the kernel runs Duplicate Address
 * Detection (RFC 4862 section 5.4); a duplicate leaves it dadfailed for
 * good while RTM_NEWADDR itself succeeded. addr.add therefore waits for
 * the outcome and raises on a failure (pitfall P2), unless told nodad or
 * wait=false. The wait's deadline comes from the link's own settings
 * (IFLA_INET6_CONF dad_transmits, rtr_solicit_delay; IFLA_INET6_CACHEINFO
 * retrans_time), read with the ifindex in one RTM_GETLINK.
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

#include "inet.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h: carrier on */
#endif

/* One address as RTM_NEWADDR describes it. */
struct addr_row {
	int family, prefixlen, scope, ifindex;
	uint32_t flags;			   /* IFA_F_*, all 32 bits */
	unsigned char local[16], peer[16]; /* IFA_LOCAL, IFA_ADDRESS */
	unsigned char brd[4];		   /* IFA_BROADCAST */
	int has_local, has_peer, has_brd;
	char label[IFNAMSIZ];
};

/* What addr.add needs to know of the link before and after adding. */
struct addr_link {
	int ifindex;
	unsigned int flags; /* IFF_UP, IFF_LOWER_UP, ... */
	int dad_transmits, accept_dad, solicit_delay_ms, retrans_ms;
};

/* Fills r from an RTM_NEWADDR message; returns 0, or -1 if malformed. */
static int addr_parse_msg(const struct nlmsghdr *nlh, struct addr_row *r)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t alen;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*ifa))
		return -1;
	memset(r, 0, sizeof(*r));
	r->family = ifa->ifa_family;
	r->prefixlen = ifa->ifa_prefixlen;
	r->scope = ifa->ifa_scope;
	r->ifindex = (int)ifa->ifa_index;
	r->flags = ifa->ifa_flags;
	alen = inet_len(r->family);
	mnl_attr_for_each (a, nlh, sizeof(*ifa)) {
		uint16_t len = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case IFA_LOCAL:
			if (len == alen)
				r->has_local = 1,
				memcpy(r->local, mnl_attr_get_payload(a), alen);
			break;
		case IFA_ADDRESS:
			if (len == alen)
				r->has_peer = 1,
				memcpy(r->peer, mnl_attr_get_payload(a), alen);
			break;
		case IFA_BROADCAST:
			if (len == 4)
				r->has_brd = 1,
				memcpy(r->brd, mnl_attr_get_payload(a), 4);
			break;
		case IFA_LABEL:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(r->label, sizeof(r->label), "%s",
					 mnl_attr_get_str(a));
			break;
		case IFA_FLAGS:
			if (len == 4)
				r->flags = mnl_attr_get_u32(a);
			break;
		}
	}
	/* IFA_LOCAL is the address; IFA_ADDRESS the peer when they differ
	 * (v6 without a peer has IFA_ADDRESS alone). */
	if (!r->has_local && r->has_peer) {
		memcpy(r->local, r->peer, alen);
		r->has_local = 1, r->has_peer = 0;
	} else if (r->has_peer && !memcmp(r->local, r->peer, alen)) {
		r->has_peer = 0;
	}
	return r->has_local ? 0 : -1;
}

static void set_bool(lua_State *L, const char *field, int v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, field);
}

/* Pushes the listing table of r (see addr.list). */
static void addr_push_row(lua_State *L, const struct addr_row *r,
			  const char *ifname)
{
	lua_createtable(L, 0, 16);
	if (ifname) {
		lua_pushstring(L, ifname);
		lua_setfield(L, -2, "ifname");
	}
	lua_pushinteger(L, r->ifindex);
	lua_setfield(L, -2, "ifindex");
	lua_pushstring(L, inet_family_name(r->family));
	lua_setfield(L, -2, "family");
	inet_push(L, r->family, r->local);
	lua_setfield(L, -2, "address");
	lua_pushinteger(L, r->prefixlen);
	lua_setfield(L, -2, "prefixlen");
	inet_set_named(L, -1, "scope", inet_scopes, (unsigned)r->scope);
	set_bool(L, "tentative", (r->flags & IFA_F_TENTATIVE) != 0);
	set_bool(L, "dadfailed", (r->flags & IFA_F_DADFAILED) != 0);
	set_bool(L, "deprecated", (r->flags & IFA_F_DEPRECATED) != 0);
	set_bool(L, "nodad", (r->flags & IFA_F_NODAD) != 0);
	set_bool(L, "noprefixroute", (r->flags & IFA_F_NOPREFIXROUTE) != 0);
	set_bool(L, "permanent", (r->flags & IFA_F_PERMANENT) != 0);
	if (r->has_brd) {
		inet_push(L, AF_INET, r->brd);
		lua_setfield(L, -2, "broadcast");
	}
	if (r->has_peer) {
		inet_push(L, r->family, r->peer);
		lua_setfield(L, -2, "peer");
	}
	if (r->label[0] && (!ifname || strcmp(r->label, ifname) != 0)) {
		lua_pushstring(L, r->label);
		lua_setfield(L, -2, "label");
	}
}

/* Reads IFLA_AF_SPEC/AF_INET6: the DAD settings of the link. */
static void addr_link_inet6(const struct nlattr *spec, struct addr_link *k)
{
	const struct nlattr *af, *a;

	mnl_attr_for_each_nested (af, spec) {
		if (mnl_attr_get_type(af) != AF_INET6)
			continue;
		mnl_attr_for_each_nested (a, af) {
			const int32_t *conf = mnl_attr_get_payload(a);
			uint16_t n = mnl_attr_get_payload_len(a) / 4;
			struct ifla_cacheinfo ci;

			if (mnl_attr_get_type(a) == IFLA_INET6_CONF &&
			    n > DEVCONF_ACCEPT_DAD) {
				k->dad_transmits = conf[DEVCONF_DAD_TRANSMITS];
				k->solicit_delay_ms =
				    conf[DEVCONF_RTR_SOLICIT_DELAY];
				k->accept_dad = conf[DEVCONF_ACCEPT_DAD];
			} else if (mnl_attr_get_type(a) ==
				       IFLA_INET6_CACHEINFO &&
				   mnl_attr_get_payload_len(a) >= sizeof(ci)) {
				memcpy(&ci, mnl_attr_get_payload(a),
				       sizeof(ci));
				k->retrans_ms = (int)ci.retrans_time;
			}
		}
	}
}

static int addr_link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct addr_link *k = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	k->ifindex = ifm->ifi_index;
	k->flags = ifm->ifi_flags;
	mnl_attr_for_each (a, nlh, sizeof(*ifm))
		if (mnl_attr_get_type(a) == IFLA_AF_SPEC)
			addr_link_inet6(a, k);
	return MNL_CB_OK;
}

/* The link ifname of c's netns (one RTM_GETLINK); raises ENODEV etc. */
static void addr_link_get(lua_State *L, struct nl_conn *c, const char *op,
			  const char *object, const char *netns,
			  const char *ifname, struct addr_link *k)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	struct nl_err e;

	memset(k, 0, sizeof(*k));
	k->dad_transmits = 1, k->solicit_delay_ms = 1000, k->retrans_ms = 1000;
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	if (nl_run(c, buf, nlh->nlmsg_len, addr_link_cb, k, &e) == 0 &&
	    k->ifindex > 0)
		return;
	if (!e.err)
		e.err = ENODEV;
	if (!e.ext[0] && e.err == ENODEV)
		snprintf(e.ext, sizeof(e.ext), "no such interface \"%s\"",
			 ifname);
	nslab_raise_nl(L, op, object, netns, &e);
}

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

/* Sleeps up to s seconds; returns -1 (errno EINTR) when a signal came. */
static int addr_nap(double s)
{
	struct timespec ts = {0, (long)(s * 1e9)};

	return nanosleep(&ts, NULL);
}

static double addr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct addr_find {
	const struct addr_row *want;
	struct addr_row got;
	int found;
};

static int addr_find_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_find *f = data;
	struct addr_row r;

	if (nlh->nlmsg_type != RTM_NEWADDR || addr_parse_msg(nlh, &r) < 0)
		return MNL_CB_OK;
	if (r.ifindex == f->want->ifindex && r.family == f->want->family &&
	    r.prefixlen == f->want->prefixlen &&
	    !memcmp(r.local, f->want->local, inet_len(r.family)))
		f->got = r, f->found = 1;
	return MNL_CB_OK;
}

/*
 * Polls RTM_GETADDR until the IPv6 address r is no longer tentative,
 * updating r->flags. Raises EADDRNOTAVAIL when DAD failed (the address
 * stays, dadfailed, as the kernel keeps it), ETIMEDOUT past the deadline
 * and EINTR when a signal interrupts the wait.
 */
static void addr_wait_dad(lua_State *L, struct nl_conn *c, const char *object,
			  const char *netns, const struct addr_link *k,
			  struct addr_row *r, const char *ifname)
{
	double limit =
	    (k->solicit_delay_ms + (double)k->dad_transmits * k->retrans_ms) /
		1000.0 +
	    1.0;
	double deadline = addr_now() + limit, pause = 0.005;
	char why[NSLAB_EXTACK_MAX];
	struct addr_find f = {.want = r};
	struct nl_err e;

	for (;;) {
		f.found = 0;
		if (nl_dump(c, RTM_GETADDR, sizeof(struct ifaddrmsg), AF_INET6,
			    addr_find_cb, &f, &e) < 0)
			nslab_raise_nl(L, "addr.add", object, netns, &e);
		if (!f.found)
			nslab_raise(L, "addr.add", object, netns, EADDRNOTAVAIL,
				    "the address vanished during duplicate "
				    "address detection");
		r->flags = f.got.flags;
		if (r->flags & IFA_F_DADFAILED) {
			snprintf(why, sizeof(why),
				 "duplicate address detected: another node "
				 "on the link has it; it stays on %s as "
				 "dadfailed until addr.del",
				 ifname);
			nslab_raise(L, "addr.add", object, netns, EADDRNOTAVAIL,
				    why);
		}
		if (!(r->flags & IFA_F_TENTATIVE))
			return;
		if (addr_now() > deadline) {
			snprintf(why, sizeof(why),
				 "still tentative after %.1f s of duplicate "
				 "address detection",
				 limit);
			nslab_raise(L, "addr.add", object, netns, ETIMEDOUT,
				    why);
		}
		if (addr_nap(pause) < 0)
			nslab_raise(L, "addr.add", object, netns, EINTR,
				    "interrupted while waiting for duplicate "
				    "address detection");
		if (pause < 0.05)
			pause *= 2;
	}
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
	nodad = inet_opt_bool(L, 3, "nodad", 0);
	noprefixroute = inet_opt_bool(L, 3, "noprefixroute", 0);
	wait = inet_opt_bool(L, 3, "wait", 1);
	scope = inet_opt_named(L, 3, "scope", inet_scopes, 255, "addr.add",
			       object, netns);
	peer = inet_opt_str(L, 3, "peer");
	label = inet_opt_str(L, 3, "label");
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

/* ---- addr.list ---- */

static const char *const list_fields[] = {"netns", "ifname", "family", NULL};

struct addr_list {
	lua_State *L;
	int names, out; /* stack indexes: ifindex -> ifname, result */
	int ifindex;	/* 0: every link */
	lua_Integer n;
};

static int addr_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_list *l = data;
	struct addr_row r;

	if (nlh->nlmsg_type != RTM_NEWADDR || addr_parse_msg(nlh, &r) < 0)
		return MNL_CB_OK;
	if (l->ifindex && r.ifindex != l->ifindex)
		return MNL_CB_OK;
	lua_rawgeti(l->L, l->names, r.ifindex);
	addr_push_row(l->L, &r, lua_tostring(l->L, -1));
	lua_rawseti(l->L, l->out, ++l->n);
	lua_pop(l->L, 1);
	return MNL_CB_OK;
}

/*
 * addr.list(opts) -> array of address tables, in the kernel's order
 * (RTM_GETADDR dump; a RTM_GETLINK dump names the links).
 */
static int l_addr_list(lua_State *L)
{
	struct addr_list l = {.L = L};
	const char *netns, *ifname, *fam;
	struct nl_conn *c;
	struct nl_err e;
	int family = AF_UNSPEC;

	if (!lua_isnoneornil(L, 1))
		luaL_checktype(L, 1, LUA_TTABLE);
	nslab_check_fields(L, 1, list_fields);
	netns = nslab_opt_netns(L, 1, "addr.list");
	ifname = inet_opt_str(L, 1, "ifname");
	fam = inet_opt_str(L, 1, "family");
	if (fam && strcmp(fam, "inet") != 0 && strcmp(fam, "inet6") != 0)
		luaL_argerror(L, 1,
			      "field 'family' must be \"inet\" or \"inet6\"");
	if (fam)
		family = strcmp(fam, "inet") != 0 ? AF_INET6 : AF_INET;
	if (ifname)
		nslab_check_ifname(L, "addr.list", ifname);
	c = nslab_conn(L, "addr.list", ifname, netns);
	if (ifname) {
		l.ifindex =
		    inet_ifindex(L, c, "addr.list", ifname, netns, ifname);
		lua_newtable(L);
		lua_pushstring(L, ifname);
		lua_rawseti(L, -2, l.ifindex);
	} else {
		inet_push_ifnames(L, c, "addr.list", netns);
	}
	l.names = lua_gettop(L);
	lua_newtable(L);
	l.out = lua_gettop(L);

	if (nl_dump(c, RTM_GETADDR, sizeof(struct ifaddrmsg),
		    (unsigned char)family, addr_list_cb, &l, &e) < 0)
		return nslab_raise_nl(L, "addr.list", ifname, netns, &e);
	return 1;
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
