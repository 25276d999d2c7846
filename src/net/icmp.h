/*
 * icmp.h - what the two halves of icmp.ping share: the state of one call
 * (sockets, probes, the send and wait queues) read from Lua by icmp.c and
 * run by the poll loop in icmp_loop.c, which has no Lua in it.
 */
#ifndef NSLAB_ICMP_H
#define NSLAB_ICMP_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

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

/* Closes every socket and frees every array of s, leaving it empty; safe
 * twice. */
void icmp_set_free(struct icmp_set *s);

/*
 * Opens the echo socket of family in netns (NULL: nslab's own): a ping
 * socket, or a raw one where ping_group_range refuses nslab's group (*raw
 * set). df: IP_PMTUDISC_DO. Returns the fd, or -1 with errno set.
 */
int icmp_open(struct nslab_state *st, const char *netns, int family, int df,
	      int *raw);

/* The loop: sends as due, reads as answers come, ends probes whose time
 * is up. Returns 0, or -1 with errno EINTR when a signal came. */
int icmp_run(struct icmp_set *s);

#endif
