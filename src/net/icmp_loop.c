/*
 * icmp_loop.c - the poll loop of icmp.ping (icmp.c reads the probes from
 * Lua): echo sockets opened inside a netns, echo requests sent as they
 * fall due (FIFO queues: every probe's next send, then its deadline),
 * replies read off every socket and matched by sequence number (and
 * identifier on raw sockets), source address and the call's cookie, ICMP
 * errors read off the error queue (IP_RECVERR, IPV6_RECVERR). The socket
 * buffers are drained every few sends: replies come back during the send
 * loop itself (veth delivers in the sender's softirq).
 *
 * Syscalls: setns(2), socket(2), sendto(2), recvmsg(2) (MSG_ERRQUEUE),
 * poll(2). Read: icmp(7), ip(7) (IP_RECVERR, IP_MTU_DISCOVER), ipv6(7),
 * RFC 792, RFC 4443, RFC 1071 (checksum).
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
#include <sys/socket.h>
#include <unistd.h>

#include "net/icmp.h"
#include "net/inet.h"
#include "net/net.h"

void icmp_set_free(struct icmp_set *s)
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
int icmp_open(struct nslab_state *st, const char *netns, int family, int df,
	      int *raw)
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
	int answered =
	    (s->stop && p->received) ||
	    (p->sent >= s->count && p->received + p->errors >= p->sent);

	if (answered)
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

/* The probe an echo header (8 bytes at buf: a reply, or the request an
 * ICMP error quotes) is about, with its sequence number; NULL when it is
 * none of this call's (another identifier on a raw socket, an unknown
 * sequence number). */
static struct icmp_probe *echo_probe(struct icmp_set *s,
				     const struct icmp_sock *k,
				     const unsigned char *buf, uint16_t *seq)
{
	if (k->raw && (uint16_t)(buf[4] << 8 | buf[5]) != k->id)
		return NULL;
	*seq = (uint16_t)(buf[6] << 8 | buf[7]);
	if (*seq >= k->nsend)
		return NULL;
	return &s->probes[k->sends[*seq].probe];
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
	p = echo_probe(s, k, buf, &seq);
	if (!p)
		return;
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
	p = echo_probe(s, k, buf, &seq);
	if (!p)
		return;
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
int icmp_run(struct icmp_set *s)
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
