/*
 * batch.c - batch.send: many rtnetlink requests to many namespaces, one
 * sendmsg per namespace (more only past BATCH_FLUSH bytes), only the
 * last message asking for an ACK (the kernel answers every failing one
 * anyway), as lab:apply builds a lab from a spec (lua/nslab/build.lua).
 * The requests are those of link.set (up), link.veth and addr.add, with
 * every ifindex given by the caller (a new namespace's links get the
 * ifindexes the caller chose: lo is 1), so no lookup round trip is
 * needed.
 *
 * Netlink: RTM_NEWLINK (IFF_UP; NLM_F_CREATE|NLM_F_EXCL with
 * IFLA_LINKINFO/VETH_INFO_PEER and IFLA_NET_NS_FD), RTM_NEWADDR
 * (NLM_F_CREATE|NLM_F_EXCL). Read: rtnetlink(7), netlink(7) (NLM_F_ACK),
 * veth(4); ../shared/bench/chainfloor.c, the same work hand-written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "net/addr.h"
#include "net/link.h"
#include "net/net.h"
#include "net/netns.h"

#define BATCH_BUF   65536
#define BATCH_FLUSH (BATCH_BUF - 4096) /* room for one more message */

static const char op[] = "batch.send";

/* One namespace's requests being put together. */
struct batch {
	struct nl_conn *c;
	char *buf;
	size_t len;
	int n;			  /* messages in buf */
	int tags[BATCH_BUF / 16]; /* the item of each message */
};

/* An integer field of the item at idx (0 when absent). */
static int item_int(lua_State *L, int idx, const char *field)
{
	lua_Integer v = 0;

	opt_integer(L, idx, field, &v);
	return (int)v;
}

/* Appends RTM_NEWLINK setting IFF_UP on ifindex. */
static void put_up(struct batch *b, int ifindex)
{
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh =
	    link_put_request(b->buf + b->len, RTM_NEWLINK, 0, &ifm);

	ifm->ifi_index = ifindex;
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	b->len += nlh->nlmsg_len;
}

/*
 * Appends the veth of the item at idx: its end `name` here (ifindex),
 * mtu/address/up as link.veth reads them, its peer `peer` made directly
 * in peer_netns (peer_ifindex, peer_address), one queue each (see
 * link_veth.c).
 */
static void put_veth(lua_State *L, struct batch *b, int idx)
{
	struct nslab_state *st = nslab_state(L);
	const char *name = opt_ifname(L, idx, "name", op);
	const char *peer = opt_ifname(L, idx, "peer", op);
	const char *pns = opt_netns(L, idx, "peer_netns", op);
	const char *obj, *pobj;
	struct link_common lc, pc;
	struct link_veth_end a, z;
	struct nl_conn *pcn;

	luaL_argcheck(L, name && peer && pns, 1,
		      "a veth item needs name, peer and peer_netns");
	obj = link_obj(L, name);
	pobj = link_obj(L, peer);
	link_read_common(L, idx, "", op, obj, NULL, &lc);
	link_read_common(L, idx, "peer_", op, pobj, pns, &pc);
	pc.has_mtu = lc.has_mtu;
	pc.mtu = lc.mtu;
	pc.has_up = 0; /* the peer comes up in its own namespace's batch */
	pcn = nslab_conn(L, op, pobj, pns);
	lua_pop(L, 2);
	a = (struct link_veth_end){name, item_int(L, idx, "ifindex"), -1, &lc};
	z = (struct link_veth_end){peer, item_int(L, idx, "peer_ifindex"),
				   nl_conn_nsfd(&st->nl, pcn), &pc};
	b->len += link_put_veth(b->buf + b->len, &a, &z, 1)->nlmsg_len;
}

/*
 * Appends the address of the item at idx ("10.0.0.1/24") on ifindex, as
 * addr.add adds it by default: IPv4 with `brd +`, 127/8 host scope, IPv6
 * without DAD (nodad, as lab:link adds them).
 */
static void put_addr(lua_State *L, struct batch *b, int idx, const char *ns)
{
	struct addr_row r;
	struct inet_addr a;
	const char *text;

	lua_getfield(L, idx, "addr");
	text = nslab_checkstr(L, -1, op, "addr");
	inet_check(L, op, text, ns, text, AF_UNSPEC, 1, &a);
	memset(&r, 0, sizeof(r));
	r.family = a.family;
	r.prefixlen = a.prefixlen;
	memcpy(r.local, a.bytes, inet_len(a.family));
	addr_set_broadcast(&r, 1);
	r.scope = a.family == AF_INET && a.bytes[0] == 127 ? RT_SCOPE_HOST
							   : RT_SCOPE_UNIVERSE;
	r.flags = a.family == AF_INET6 ? IFA_F_NODAD : 0;
	r.ifindex = item_int(L, idx, "ifindex");
	b->len += addr_put(b->buf + b->len, &r)->nlmsg_len;
	lua_pop(L, 1);
}

/*
 * Sends what b holds. On a refusal pushes the failing item's tag, errno
 * and the kernel's extack text and returns 3; else returns 0.
 */
static int flush(lua_State *L, struct batch *b)
{
	struct nl_err e;

	if (b->n == 0)
		return 0;
	if (nl_run_batch(b->c, b->buf, b->len, &e) < 0) {
		lua_pushinteger(
		    L, b->tags[e.index >= 0 && e.index < b->n ? e.index
							      : b->n - 1]);
		lua_pushinteger(L, e.err);
		lua_pushstring(L, e.ext);
		return 3;
	}
	b->len = 0;
	b->n = 0;
	return 0;
}

/* Appends the item at idx to b, flushing b first when it is full;
 * returns as flush. */
static int put_item(lua_State *L, struct batch *b, int idx, const char *ns)
{
	const char *kind;
	int r;

	if (b->len > BATCH_FLUSH ||
	    b->n == (int)(sizeof(b->tags) / sizeof(b->tags[0]))) {
		r = flush(L, b);
		if (r)
			return r;
	}
	lua_getfield(L, idx, "op");
	kind = nslab_checkstr(L, -1, op, "op");
	if (!strcmp(kind, "up"))
		put_up(b, item_int(L, idx, "ifindex"));
	else if (!strcmp(kind, "veth"))
		put_veth(L, b, idx);
	else if (!strcmp(kind, "addr"))
		put_addr(L, b, idx, ns);
	else
		luaL_argerror(L, 1,
			      "an item's op is \"up\", \"veth\" or "
			      "\"addr\"");
	lua_pop(L, 1);
	b->tags[b->n++] = item_int(L, idx, "tag");
	return 0;
}

/*
 * batch.send(batches) -> nothing, or tag, errno, extack: batches[k] =
 * {netns = name, item...}, each item {op = "up"|"veth"|"addr", tag =
 * integer, ifindex = ..., ...}; the namespaces' requests are sent in
 * order, each namespace's in one sendmsg. At the first refusal the rest
 * is not sent and the refused item's tag is returned with the errno and
 * the kernel's reason (the requests of that sendmsg after it were
 * carried out or refused too: the caller undoes the lot). Raises
 * argument errors for bad items (before or after some were sent).
 */
static int l_batch_send(lua_State *L)
{
	struct batch *b;
	const char *ns;
	lua_Integer k, i, nb, ni;
	int r;

	luaL_checktype(L, 1, LUA_TTABLE);
	b = lua_newuserdatauv(L, sizeof(*b) + BATCH_BUF, 0);
	b->buf = (char *)(b + 1);
	nb = luaL_len(L, 1);
	for (k = 1; k <= nb; k++) {
		lua_geti(L, 1, k);
		luaL_argcheck(L, lua_istable(L, -1), 1, "batches of tables");
		lua_getfield(L, -1, "netns");
		ns = nslab_checkstr(L, -1, op, "netns");
		b->c = nslab_conn(L, op, ns, ns);
		b->len = 0;
		b->n = 0;
		ni = luaL_len(L, -2);
		for (i = 1; i <= ni; i++) {
			lua_geti(L, -2, i);
			luaL_argcheck(L, lua_istable(L, -1), 1,
				      "items of tables");
			r = put_item(L, b, lua_gettop(L), ns);
			if (r)
				return r;
			lua_pop(L, 1);
		}
		r = flush(L, b);
		if (r)
			return r;
		lua_pop(L, 2);
	}
	return 0;
}

static const luaL_Reg funcs[] = {
    {"netns", l_batch_netns},
    {"send", l_batch_send},
    {NULL, NULL},
};

void nslab_open_batch(lua_State *L)
{
	nslab_newlib(L, "batch", funcs);
}
