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
 * too long with DF) from sendto.
 *
 * Syscalls: setns(2), socket(2), sendto(2), recvmsg(2) (MSG_ERRQUEUE),
 * poll(2). Read: icmp(7) (ping sockets, IP_RECVERR), ip(7)
 * (IP_MTU_DISCOVER), ipv6(7), RFC 792, RFC 4443, ping(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <time.h>

#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/inet.h"
#include "net/net.h"

#define ICMP_SET_MT	 "nslab.icmpset"
#define ICMP_MAX_PAYLOAD 65000
#define ICMP_SEQS	 65536	   /* sequence numbers per socket per call */
#define ICMP_RCVBUF	 (1 << 21) /* room for replies between two drains */
#define ICMP_DRAIN_EVERY 16	   /* sends between reads of the same socket */
#define ICMP_POLL_EVERY	 256	   /* sends between reads of every socket */

struct icmp_send {
	uint32_t probe;
	double t;
};

struct icmp_sock {
	int fd, family, raw, df;
	uint16_t id; /* raw sockets: ours (datagram: the kernel's) */
	uint32_t nsend, cap;
	struct icmp_send *sends; /* by sequence number */
};

struct icmp_probe {
	uint32_t sock, size, sent, received, errors;
	unsigned char dst[16];
	double next, deadline, rtt_sum, rtt_min;
	int err, origin, type, code, done, has_from;
	uint32_t info;
	unsigned char from[16];
};

/* The state of one call, a userdata whose __gc frees it (a raise or an
 * interrupt leaves no fd behind). */
struct icmp_set {
	struct icmp_sock *socks;
	size_t nsock;
	struct icmp_probe *probes;
	size_t n, nopen;
	uint32_t *sendq, *waitq; /* FIFOs of probe indexes, n each */
	size_t sh, sn, wh, wn;	 /* head and length of each */
	struct pollfd *pfd;
	unsigned char cookie[8];
	double timeout, interval;
	lua_Integer count;
	int stop;
};

static void set_free(struct icmp_set *s)
{
	for (size_t i = 0; i < s->nsock; i++) {
		if (s->socks[i].fd >= 0)
			close(s->socks[i].fd);
		free(s->socks[i].sends);
	}
	free(s->socks);
	free(s->probes);
	free(s->sendq);
	free(s->waitq);
	free(s->pfd);
	memset(s, 0, sizeof(*s));
}

static int l_set_gc(lua_State *L)
{
	set_free(luaL_checkudata(L, 1, ICMP_SET_MT));
	return 0;
}

/* Internet checksum (RFC 1071), for raw IPv4 sockets. */
static uint16_t icmp_cksum(const unsigned char *p, size_t len)
{
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/*
 * Opens the echo socket of family in netns (NULL: nslab's own): a ping
 * socket, or a raw one where ping_group_range refuses nslab's group.
 * Returns the fd, or -1 with errno set.
 */
static int icmp_open(struct nslab_state *st, const char *netns, int family,
		     int df, int *raw)
{
	int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int fd, err = 0, on = 1, size = ICMP_RCVBUF;

	if (nl_enter(&st->nl, netns) < 0) {
		err = errno;
		nl_leave(&st->nl);
		return errno = err, -1;
	}
	*raw = 0;
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		*raw = 1;
		fd = socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    proto);
	}
	err = errno;
	nl_leave(&st->nl);
	if (fd < 0)
		return errno = err, -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (family == AF_INET) {
		int pmtu = IP_PMTUDISC_DO;

		setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on));
		if (df)
			setsockopt(fd, SOL_IP, IP_MTU_DISCOVER, &pmtu,
				   sizeof(pmtu));
	} else {
		int pmtu = IPV6_PMTUDISC_DO;

		setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof(on));
		if (df)
			setsockopt(fd, SOL_IPV6, IPV6_MTU_DISCOVER, &pmtu,
				   sizeof(pmtu));
	}
	return fd;
}

static void icmp_drain(struct icmp_set *s, struct icmp_sock *k);

static void probe_finish(struct icmp_set *s, struct icmp_probe *p)
{
	if (!p->done) {
		p->done = 1;
		s->nopen--;
	}
}

/* A probe is over once every echo it will send got its answer. */
static void probe_check(struct icmp_set *s, struct icmp_probe *p)
{
	if (p->done)
		return;
	if (s->stop && p->received)
		probe_finish(s, p);
	else if (p->sent >= s->count && p->received + p->errors >= p->sent)
		probe_finish(s, p);
}

/* Sends probe i's next echo request; a send error counts as its answer. */
static void probe_send(struct icmp_set *s, uint32_t i, double now)
{
	struct icmp_probe *p = &s->probes[i];
	struct icmp_sock *k = &s->socks[p->sock];
	unsigned char buf[8 + ICMP_MAX_PAYLOAD];
	struct sockaddr_storage to;
	socklen_t tolen;
	uint16_t seq = (uint16_t)k->nsend;
	size_t len = 8 + p->size;
	int err = 0;

	memset(buf, 0, 8);
	buf[0] = k->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	buf[4] = (unsigned char)(k->id >> 8);
	buf[5] = (unsigned char)k->id;
	buf[6] = (unsigned char)(seq >> 8);
	buf[7] = (unsigned char)seq;
	for (size_t j = 0; j < p->size; j++)
		buf[8 + j] = j < 8 ? s->cookie[j] : (unsigned char)j;
	if (k->raw && k->family == AF_INET) {
		uint16_t c = icmp_cksum(buf, len);

		memcpy(buf + 2, &c, 2);
	}
	memset(&to, 0, sizeof(to));
	if (k->family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&to;

		a->sin_family = AF_INET;
		memcpy(&a->sin_addr, p->dst, 4);
		tolen = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&to;

		a->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, p->dst, 16);
		tolen = sizeof(*a);
	}
	k->sends[seq].probe = i;
	k->sends[seq].t = now;
	k->nsend++;
	p->sent++;
	/* An ICMP error about an earlier echo leaves sk_err set, and the
	 * next send fails with it, consuming it (sock_error): a send failing
	 * with an error ICMP can cause is tried again, so only its own error
	 * counts. ENOBUFS (a full neighbour table) is the send's own. */
	for (int tries = 0; tries < 3; tries++) {
		if (sendto(k->fd, buf, len, 0, (struct sockaddr *)&to, tolen) >=
		    0) {
			err = 0;
			break;
		}
		err = errno;
		if (err == EAGAIN)
			icmp_drain(s, k); /* room for more */
		else if (err == ENOBUFS || err == EINVAL || err == EPERM)
			break;
	}
	if (err) {
		p->err = err;
		p->origin = SO_EE_ORIGIN_LOCAL;
		p->errors++;
	}
}

/* Reads an echo reply (or anything else) off k: matches it to a probe. */
static void icmp_reply(struct icmp_set *s, struct icmp_sock *k,
		       const unsigned char *buf, size_t len,
		       const struct sockaddr_storage *from, double now)
{
	const void *src;
	struct icmp_probe *p;
	uint16_t seq;

	if (k->raw && k->family == AF_INET) {
		size_t hl = (size_t)(buf[0] & 0x0f) * 4;

		if (len < hl + 8)
			return;
		buf += hl;
		len -= hl;
	}
	if (len < 8 || buf[0] != (k->family == AF_INET ? ICMP_ECHOREPLY
						       : ICMP6_ECHO_REPLY))
		return;
	if (k->raw && (uint16_t)(buf[4] << 8 | buf[5]) != k->id)
		return;
	seq = (uint16_t)(buf[6] << 8 | buf[7]);
	if (seq >= k->nsend)
		return;
	p = &s->probes[k->sends[seq].probe];
	src =
	    k->family == AF_INET
		? (const void *)&((const struct sockaddr_in *)from)->sin_addr
		: (const void *)&((const struct sockaddr_in6 *)from)->sin6_addr;
	if (memcmp(src, p->dst, inet_len(k->family)) != 0)
		return;
	if (len - 8 < (p->size < 8 ? p->size : 8) ||
	    memcmp(buf + 8, s->cookie, p->size < 8 ? p->size : 8) != 0)
		return;
	{
		double rtt = now - k->sends[seq].t;

		if (!p->received || rtt < p->rtt_min)
			p->rtt_min = rtt;
		p->rtt_sum += rtt;
	}
	p->received++;
	probe_check(s, p);
}

/* One message off k's error queue: an ICMP error about one of ours. */
static void icmp_error(struct icmp_set *s, struct icmp_sock *k,
		       const unsigned char *buf, size_t len, struct msghdr *m)
{
	const struct sock_extended_err *ee = NULL;
	struct icmp_probe *p;
	uint16_t seq;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
		if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
		    (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))
			ee = (const struct sock_extended_err *)CMSG_DATA(c);
	if (!ee || len < 8)
		return; /* a local error without the packet: sendto said */
	if (k->raw && (uint16_t)(buf[4] << 8 | buf[5]) != k->id)
		return;
	seq = (uint16_t)(buf[6] << 8 | buf[7]);
	if (seq >= k->nsend)
		return;
	p = &s->probes[k->sends[seq].probe];
	p->err = (int)ee->ee_errno;
	p->origin = ee->ee_origin;
	p->type = ee->ee_type;
	p->code = ee->ee_code;
	p->info = ee->ee_info;
	{
		const struct sockaddr *off = SO_EE_OFFENDER(ee);

		p->has_from = 0;
		if (off->sa_family == AF_INET) {
			memcpy(p->from,
			       &((const struct sockaddr_in *)off)->sin_addr, 4);
			p->has_from = 1;
		} else if (off->sa_family == AF_INET6) {
			memcpy(p->from,
			       &((const struct sockaddr_in6 *)off)->sin6_addr,
			       16);
			p->has_from = 1;
		}
	}
	p->errors++;
	probe_check(s, p);
}

/* Reads everything waiting on k: replies, then the error queue. */
static void icmp_drain(struct icmp_set *s, struct icmp_sock *k)
{
	unsigned char buf[8 + ICMP_MAX_PAYLOAD + 60];
	char ctl[512];
	struct sockaddr_storage from;
	struct iovec iov = {buf, sizeof(buf)};

	for (int q = 0; q < 2; q++) {
		for (;;) {
			struct msghdr m = {
			    .msg_name = &from,
			    .msg_namelen = sizeof(from),
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl,
			    .msg_controllen = sizeof(ctl),
			};
			ssize_t r = recvmsg(
			    k->fd, &m, MSG_DONTWAIT | (q ? MSG_ERRQUEUE : 0));

			if (r < 0)
				break; /* EAGAIN: empty */
			if (q)
				icmp_error(s, k, buf, (size_t)r, &m);
			else
				icmp_reply(s, k, buf, (size_t)r, &from,
					   nslab_now());
		}
	}
}

static void drain_all(struct icmp_set *s, int wait_ms)
{
	if (poll(s->pfd, s->nsock, wait_ms) <= 0)
		return;
	for (size_t i = 0; i < s->nsock; i++)
		if (s->pfd[i].revents)
			icmp_drain(s, &s->socks[i]);
}

/* The loop: sends as due, reads as answers come, ends probes whose time
 * is up. Returns 0, or -1 with errno EINTR when a signal came. */
static int icmp_run(struct icmp_set *s)
{
	unsigned long sends = 0;
	double now = nslab_now();

	while (s->nopen > 0) {
		double wake = now + 1;
		int ms;

		while (s->sn && s->probes[s->sendq[s->sh]].next <= now) {
			uint32_t i = s->sendq[s->sh];
			struct icmp_probe *p = &s->probes[i];

			s->sh = (s->sh + 1) % s->n;
			s->sn--;
			if (p->done)
				continue;
			probe_send(s, i, now);
			if (p->sent < s->count) {
				p->next = now + s->interval;
				s->sendq[(s->sh + s->sn++) % s->n] = i;
			} else {
				p->deadline = now + s->timeout;
				s->waitq[(s->wh + s->wn++) % s->n] = i;
			}
			probe_check(s, p);
			if (++sends % ICMP_DRAIN_EVERY == 0)
				icmp_drain(s, &s->socks[p->sock]);
			if (sends % ICMP_POLL_EVERY == 0) {
				drain_all(s, 0);
				now = nslab_now();
			}
		}
		while (s->wn) {
			struct icmp_probe *p = &s->probes[s->waitq[s->wh]];

			if (!p->done && p->deadline > now)
				break;
			probe_finish(s, p);
			s->wh = (s->wh + 1) % s->n;
			s->wn--;
		}
		if (!s->nopen)
			break;
		if (s->sn && s->probes[s->sendq[s->sh]].next < wake)
			wake = s->probes[s->sendq[s->sh]].next;
		if (s->wn && s->probes[s->waitq[s->wh]].deadline < wake)
			wake = s->probes[s->waitq[s->wh]].deadline;
		ms = (int)((wake - now) * 1000 + 0.999);
		if (poll(s->pfd, s->nsock, ms < 0 ? 0 : ms) < 0) {
			if (errno == EINTR)
				return -1;
		} else {
			for (size_t i = 0; i < s->nsock; i++)
				if (s->pfd[i].revents)
					icmp_drain(s, &s->socks[i]);
		}
		now = nslab_now();
	}
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
		set_free(s);
		return nslab_raise(L, "icmp.ping", NULL, NULL, EINTR,
				   "interrupted");
	}
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		push_result(L, s, &s->probes[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	set_free(s);
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
