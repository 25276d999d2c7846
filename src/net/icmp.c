/*
 * icmp.c - ICMP and ICMPv6 echo sent from inside network namespaces by
 * nslab itself, without a ping process: icmp.ping(probes, opts) sends
 * every probe's echo requests at once and waits for all the answers in
 * one poll loop. One socket per (netns, family, DF) is opened while the
 * thread is in that netns (setns there and straight back: a socket stays
 * in the namespace it was made in). Sockets are ICMP datagram sockets
 * ("ping sockets", allowed by net.ipv4.ping_group_range, which lab hosts
 * open) or, where the group is refused, raw sockets (CAP_NET_RAW).
 * Replies are matched by sequence number (and identifier on raw
 * sockets), source address and a per-call cookie in the payload; ICMP
 * errors (unreachable, fragmentation needed, time exceeded) come from
 * the socket's error queue (IP_RECVERR), send errors (no route, message
 * too long with DF) from sendto. This file reads the probes from Lua and
 * pushes the results; the loop itself is icmp_loop.c.
 *
 * Syscalls: setns(2), socket(2), sendto(2), recvmsg(2) (MSG_ERRQUEUE),
 * poll(2). Read: icmp(7) (ping sockets, IP_RECVERR), ip(7)
 * (IP_MTU_DISCOVER), ipv6(7), RFC 792, RFC 4443, ping(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/errqueue.h>

#include "net/icmp.h"
#include "net/inet.h"
#include "net/net.h"

#define ICMP_SET_MT "nslab.icmpset"

static int l_set_gc(lua_State *L)
{
	icmp_set_free(luaL_checkudata(L, 1, ICMP_SET_MT));
	return 0;
}

static const char *const ping_fields[] = {"timeout", "count", "interval",
					  "stop", NULL};
static const char *const probe_fields[] = {"netns", "dst", "size", "df", NULL};

/* The socket for (netns, family, df), from the key table at keys, opened
 * on first use; raises the error object when it cannot be opened. */
static uint32_t set_sock(lua_State *L, struct icmp_set *s, int keys,
			 const char *netns, int family, int df, const char *dst)
{
	struct nslab_state *st = nslab_state(L);
	struct icmp_sock *k;
	int raw, fd;

	lua_pushfstring(L, "%s%c%d%c%d", netns ? netns : "", 0, family, 0, df);
	if (lua_rawget(L, keys) == LUA_TNUMBER) {
		uint32_t i = (uint32_t)lua_tointeger(L, -1);

		lua_pop(L, 1);
		return i;
	}
	lua_pop(L, 1);
	fd = icmp_open(st, netns, family, df, &raw);
	if (fd < 0)
		return (uint32_t)nslab_raise(L, "icmp.ping", dst, netns, errno,
					     errno == EPERM || errno == EACCES
						 ? "neither a ping socket "
						   "(ping_group_range) nor "
						   "a raw one (CAP_NET_RAW)"
						 : NULL);
	k = &s->socks[s->nsock];
	memset(k, 0, sizeof(*k));
	k->fd = fd;
	k->family = family;
	k->raw = raw;
	k->df = df;
	if (getrandom(&k->id, sizeof(k->id), 0) != sizeof(k->id))
		k->id = (uint16_t)(getpid() ^ s->nsock);
	s->pfd[s->nsock].fd = fd;
	s->pfd[s->nsock].events = POLLIN;
	lua_pushfstring(L, "%s%c%d%c%d", netns ? netns : "", 0, family, 0, df);
	lua_pushinteger(L, (lua_Integer)s->nsock);
	lua_rawset(L, keys);
	return (uint32_t)s->nsock++;
}

/* Reads probe i (the table on top) into s. */
static void set_probe(lua_State *L, struct icmp_set *s, int keys, size_t i)
{
	struct icmp_probe *p = &s->probes[i];
	struct inet_addr a;
	const char *netns, *dst;
	lua_Integer size = 56;
	int df = 0, t = lua_gettop(L);

	if (!lua_istable(L, t))
		luaL_error(L,
			   "bad argument #1 to 'icmp.ping' (probe %d "
			   "must be a table)",
			   (int)i + 1);
	nslab_check_fields(L, t, probe_fields);
	netns = nslab_opt_netns(L, t, "icmp.ping");
	dst = opt_string(L, t, "dst");
	if (!dst)
		luaL_error(L,
			   "bad argument #1 to 'icmp.ping' (probe %d "
			   "needs field 'dst')",
			   (int)i + 1);
	inet_check(L, "icmp.ping", dst, netns, dst, AF_UNSPEC, 0, &a);
	opt_range(L, t, "size", 0, ICMP_MAX_PAYLOAD, &size, "icmp.ping", dst,
		  netns);
	opt_boolean(L, t, "df", &df);
	memset(p, 0, sizeof(*p));
	memcpy(p->dst, a.bytes, inet_len(a.family));
	p->size = (uint32_t)size;
	p->sock = set_sock(L, s, keys, netns, a.family, df, dst);
	s->socks[p->sock].cap += (uint32_t)s->count;
	if (s->socks[p->sock].cap > ICMP_SEQS) {
		char why[96];

		snprintf(why, sizeof(why),
			 "more than %d echo requests from one netns in one "
			 "call",
			 ICMP_SEQS);
		nslab_raise(L, "icmp.ping", dst, netns, E2BIG, why);
	}
}

/* Pushes probe p's result table. */
static void push_result(lua_State *L, const struct icmp_set *s,
			const struct icmp_probe *p)
{
	int family = s->socks[p->sock].family;

	lua_createtable(L, 0, 10);
	lua_pushboolean(L, p->received > 0);
	lua_setfield(L, -2, "ok");
	lua_pushinteger(L, p->sent);
	lua_setfield(L, -2, "sent");
	lua_pushinteger(L, p->received);
	lua_setfield(L, -2, "received");
	if (p->received) {
		lua_pushnumber(L, p->rtt_sum / p->received);
		lua_setfield(L, -2, "rtt");
		lua_pushnumber(L, p->rtt_min);
		lua_setfield(L, -2, "rtt_min");
	}
	if (p->err) {
		const char *code = strerrorname_np(p->err);

		lua_pushinteger(L, p->err);
		lua_setfield(L, -2, "errno");
		lua_pushstring(L, code ? code : "?");
		lua_setfield(L, -2, "code");
		lua_pushstring(L, p->origin == SO_EE_ORIGIN_LOCAL ? "local"
				  : p->origin == SO_EE_ORIGIN_ICMP ||
					  p->origin == SO_EE_ORIGIN_ICMP6
				      ? "icmp"
				      : "other");
		lua_setfield(L, -2, "origin");
		if (p->origin != SO_EE_ORIGIN_LOCAL) {
			lua_pushinteger(L, p->type);
			lua_setfield(L, -2, "icmp_type");
			lua_pushinteger(L, p->code);
			lua_setfield(L, -2, "icmp_code");
		}
		if (p->info) {
			lua_pushinteger(L, p->info);
			lua_setfield(L, -2, "mtu");
		}
		if (p->has_from) {
			inet_push(L, family, p->from);
			lua_setfield(L, -2, "from");
		}
	}
}

/*
 * icmp.ping(probes, opts) -> results: probes[i] = {netns =, dst =, size =
 * (payload bytes, default 56), df = (boolean)}; opts = {timeout = seconds
 * after the last echo (1), count = echoes per probe (1), interval =
 * seconds between them (1), stop = stop a probe at its first reply
 * (true)}. results[i] = {ok, sent, received, rtt, rtt_min, errno, code,
 * origin ("local"|"icmp"), icmp_type, icmp_code, mtu, from}.
 */
static int l_icmp_ping(lua_State *L)
{
	struct icmp_set *s;
	lua_Number timeout = 1, interval = 1;
	lua_Integer count = 1;
	size_t n;
	int keys;

	luaL_checktype(L, 1, LUA_TTABLE);
	if (lua_isnoneornil(L, 2)) {
		lua_settop(L, 1);
		lua_newtable(L);
	}
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	nslab_check_fields(L, 2, ping_fields);
	if (lua_getfield(L, 2, "timeout") != LUA_TNIL)
		timeout = luaL_checknumber(L, -1);
	if (lua_getfield(L, 2, "interval") != LUA_TNIL)
		interval = luaL_checknumber(L, -1);
	lua_pop(L, 2);
	luaL_argcheck(L, timeout > 0 && timeout <= 3600, 2,
		      "field 'timeout' must be 0..3600 seconds (above 0)");
	luaL_argcheck(L, interval >= 0 && interval <= 3600, 2,
		      "field 'interval' must be 0..3600 seconds");
	opt_integer(L, 2, "count", &count);
	luaL_argcheck(L, count >= 1 && count <= 1000, 2,
		      "field 'count' must be 1..1000");
	n = luaL_len(L, 1);
	s = lua_newuserdatauv(L, sizeof(*s), 0);
	memset(s, 0, sizeof(*s));
	luaL_setmetatable(L, ICMP_SET_MT);
	s->timeout = timeout;
	s->interval = interval;
	s->count = count;
	s->stop = opt_flag(L, 2, "stop", 1);
	lua_newtable(L);
	keys = lua_gettop(L);
	if (n == 0) {
		lua_newtable(L);
		return 1;
	}
	s->n = n;
	s->probes = calloc(n, sizeof(*s->probes));
	s->socks = calloc(n, sizeof(*s->socks));
	s->pfd = calloc(n, sizeof(*s->pfd));
	s->sendq = calloc(n, sizeof(*s->sendq));
	s->waitq = calloc(n, sizeof(*s->waitq));
	if (!s->probes || !s->socks || !s->pfd || !s->sendq || !s->waitq)
		return nslab_raise(L, "icmp.ping", NULL, NULL, ENOMEM, NULL);
	if (getrandom(s->cookie, sizeof(s->cookie), 0) != sizeof(s->cookie))
		memcpy(s->cookie, "nslab!!!", 8);
	for (size_t i = 0; i < n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i + 1);
		set_probe(L, s, keys, i);
		lua_pop(L, 1);
		s->sendq[i] = (uint32_t)i;
	}
	for (size_t i = 0; i < s->nsock; i++) {
		struct icmp_sock *k = &s->socks[i];

		k->sends = calloc(k->cap, sizeof(*k->sends));
		if (!k->sends)
			return nslab_raise(L, "icmp.ping", NULL, NULL, ENOMEM,
					   NULL);
	}
	s->sn = n;
	s->nopen = n;
	if (icmp_run(s) < 0) {
		icmp_set_free(s);
		return nslab_raise(L, "icmp.ping", NULL, NULL, EINTR,
				   "interrupted");
	}
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		push_result(L, s, &s->probes[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	icmp_set_free(s);
	return 1;
}

static const luaL_Reg funcs[] = {
    {"ping", l_icmp_ping},
    {NULL, NULL},
};

void nslab_open_icmp(lua_State *L)
{
	if (luaL_newmetatable(L, ICMP_SET_MT)) {
		lua_pushcfunction(L, l_set_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	nslab_newlib(L, "icmp", funcs);
}
