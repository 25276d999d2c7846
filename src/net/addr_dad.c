/*
 * addr_dad.c - Duplicate Address Detection (RFC 4862 section 5.4): a new
 * IPv6 address is tentative while the kernel runs DAD, and a duplicate
 * leaves it dadfailed for good while RTM_NEWADDR itself succeeded, so
 * addr.add waits for the outcome (pitfall P2). The deadline comes from the
 * link's own settings (IFLA_INET6_CONF dad_transmits, rtr_solicit_delay;
 * IFLA_INET6_CACHEINFO retrans_time), read with the ifindex in one
 * RTM_GETLINK.
 *
 * Read: rtnetlink(7), RFC 4862, linux/if_link.h, linux/ipv6.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ipv6.h>
#include <linux/rtnetlink.h>

#include "net/addr.h"

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
void addr_link_get(lua_State *L, struct nl_conn *c, const char *op,
		   const char *object, const char *netns, const char *ifname,
		   struct addr_link *k)
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

/* Sleeps up to s seconds; returns -1 (errno EINTR) when a signal came. */
static int addr_nap(double s)
{
	struct timespec ts = {0, (long)(s * 1e9)};

	return nanosleep(&ts, NULL);
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
void addr_wait_dad(lua_State *L, struct nl_conn *c, const char *object,
		   const char *netns, const struct addr_link *k,
		   struct addr_row *r, const char *ifname)
{
	double limit =
	    (k->solicit_delay_ms + (double)k->dad_transmits * k->retrans_ms) /
		1000.0 +
	    1.0;
	double deadline = nslab_now() + limit, pause = 0.005;
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
		if (nslab_now() > deadline) {
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

#define SETTLE_MAX_IFS 65536

struct addr_pending {
	const lua_Integer *ifs; /* sorted */
	size_t n;
	int pending;
};

static int cmp_ifindex(const void *a, const void *b)
{
	lua_Integer x = *(const lua_Integer *)a, y = *(const lua_Integer *)b;

	return (x > y) - (x < y);
}

static int addr_pending_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_pending *p = data;
	struct addr_row r;
	lua_Integer key;

	if (nlh->nlmsg_type != RTM_NEWADDR || addr_parse_msg(nlh, &r) < 0 ||
	    !(r.flags & IFA_F_TENTATIVE) || (r.flags & IFA_F_DADFAILED))
		return MNL_CB_OK;
	key = r.ifindex;
	if (bsearch(&key, p->ifs, p->n, sizeof(key), cmp_ifindex))
		p->pending = 1;
	return MNL_CB_OK;
}

/*
 * addr.settle{netns =, ifindexes = {...}, timeout = 0.25} -> boolean:
 * waits until no IPv6 address on those links is tentative (dadfailed
 * ones aside). Where DAD is off (accept_dad 0, as in lab nodes) the
 * kernel still marks a new link-local address tentative until its
 * addrconf work runs, a moment after the link came up: this waits that
 * moment out (pitfall P2). Returns false at the timeout (seconds) or when
 * a signal interrupts the wait; raises for a missing netns.
 */
int l_addr_settle(lua_State *L)
{
	static const char op[] = "addr.settle";
	static const char *const fields[] = {"netns", "ifindexes", "timeout",
					     NULL};
	struct addr_pending p = {0};
	double timeout = 0.25, pause = 0.0002, deadline;
	lua_Integer *ifs, n;
	const char *netns;
	struct nl_conn *c;
	struct nl_err e;

	luaL_checktype(L, 1, LUA_TTABLE);
	nslab_check_fields(L, 1, fields);
	netns = nslab_opt_netns(L, 1, op);
	if (lua_getfield(L, 1, "ifindexes") != LUA_TTABLE)
		luaL_argerror(L, 1,
			      "field 'ifindexes' must be a table of "
			      "ifindexes");
	n = luaL_len(L, -1);
	luaL_argcheck(L, n >= 1 && n <= SETTLE_MAX_IFS, 1,
		      "field 'ifindexes' must hold 1 to 65536 ifindexes");
	ifs = lua_newuserdatauv(L, (size_t)n * sizeof(*ifs), 0);
	for (lua_Integer i = 0; i < n; i++) {
		int isnum;

		lua_geti(L, -2, i + 1);
		ifs[i] = lua_tointegerx(L, -1, &isnum);
		luaL_argcheck(L, isnum && ifs[i] > 0, 1,
			      "field 'ifindexes' must hold positive integers");
		lua_pop(L, 1);
	}
	qsort(ifs, (size_t)n, sizeof(*ifs), cmp_ifindex);
	p.ifs = ifs, p.n = (size_t)n;
	if (lua_getfield(L, 1, "timeout") != LUA_TNIL) {
		luaL_argcheck(L, lua_type(L, -1) == LUA_TNUMBER, 1,
			      "field 'timeout' must be a number (seconds)");
		timeout = lua_tonumber(L, -1);
		luaL_argcheck(L, timeout >= 0 && timeout <= 60, 1,
			      "field 'timeout' must be 0 to 60 seconds");
	}
	lua_pop(L, 1);
	c = nslab_conn(L, op, NULL, netns);
	deadline = nslab_now() + timeout;
	for (;;) {
		p.pending = 0;
		if (nl_dump(c, RTM_GETADDR, sizeof(struct ifaddrmsg), AF_INET6,
			    addr_pending_cb, &p, &e) < 0)
			return nslab_raise_nl(L, op, NULL, netns, &e);
		if (!p.pending || nslab_now() >= deadline ||
		    addr_nap(pause) < 0) {
			lua_pushboolean(L, !p.pending);
			return 1;
		}
		if (pause < 0.01)
			pause *= 2;
	}
}
