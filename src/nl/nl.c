/*
 * nl.c - the rtnetlink transport: one NETLINK_ROUTE socket per network
 * namespace, opened inside it once (enter, socket, return) and cached, so
 * later requests need no namespace switch; batched requests; extended ACKs.
 *
 * Syscalls: setns(2), socket(7) via libmnl, sendto/recvfrom.
 * Read: netlink(7), rtnetlink(7), ip-netns(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "nl/nl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

static void conn_close(struct nl_conn *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	c->nl = NULL;
	if (c->nsfd >= 0)
		close(c->nsfd);
	c->nsfd = -1;
	if (c->mntfd >= 0)
		close(c->mntfd);
	c->mntfd = -1;
	if (c->utsfd >= 0)
		close(c->utsfd);
	if (c->ipcfd >= 0)
		close(c->ipcfd);
	if (c->timefd >= 0)
		close(c->timefd);
	c->utsfd = c->ipcfd = c->timefd = -1;
	if (c->pidnsfd >= 0)
		close(c->pidnsfd);
	if (c->cgfd >= 0)
		close(c->cgfd);
	c->pidnsfd = c->cgfd = -1;
	if (c->hostsfd >= 0)
		close(c->hostsfd);
	c->hostsfd = -1;
	free(c->hosts);
	c->hosts = NULL;
	c->hosts_pull = 0;
	free(c->dirs);
	c->dirs = NULL;
}

static void conn_free(struct nl_conn *c)
{
	conn_close(c);
	free(c->name);
	free(c);
}

/* Opens and binds a rtnetlink socket in the calling thread's netns. */
static struct mnl_socket *open_sock(unsigned int *portid)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int one = 1, rcvbuf = 1 << 20, saved;

	if (!nl)
		return NULL;
	/* Both are best effort: old kernels lack them, answers still work. */
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	/* Room for the ACKs of a batch; the kernel caps it at rmem_max. */
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		   sizeof(rcvbuf));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		saved = errno;
		mnl_socket_close(nl);
		errno = saved;
		return NULL;
	}
	*portid = mnl_socket_get_portid(nl);
	return nl;
}

void nl_leave(struct nl_cache *st)
{
	if (setns(st->self_nsfd, CLONE_NEWNET) < 0) {
		/* Every later call would act in the wrong namespace. */
		perror(
		    "nslab: cannot return to the original network namespace");
		abort();
	}
}

int nl_enter(struct nl_cache *st, const char *netns)
{
	struct nl_conn *c;

	if (!netns)
		return setns(st->self_nsfd, CLONE_NEWNET);
	c = nl_conn_get(st, netns);
	if (!c)
		return -1;
	return setns(c->nsfd, CLONE_NEWNET);
}

void nl_conn_forget(struct nl_cache *st, const char *name)
{
	struct nl_conn *c = nl_tab_take(st, name);

	if (c)
		conn_free(c);
}

static struct nl_conn *insert(struct nl_cache *st, const char *name, int nsfd,
			      const struct stat *sb, struct mnl_socket *nl,
			      unsigned int portid)
{
	struct nl_conn *c = calloc(1, sizeof(*c));

	if (!c || !(c->name = strdup(name))) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->nsfd = nsfd;
	c->mntfd = c->utsfd = c->hostsfd = c->ipcfd = c->timefd = -1;
	c->pidnsfd = c->cgfd = -1;
	c->dev = sb->st_dev;
	c->ino = sb->st_ino;
	c->nl = nl;
	c->portid = portid;
	c->seq = 1;
	nl_conn_forget(st, name); /* a stale entry: the name was reused */
	if (nl_tab_put(st, c) < 0) {
		free(c->name);
		free(c);
		return NULL;
	}
	return c;
}

struct nl_conn *nl_conn_adopt(struct nl_cache *st, const char *name)
{
	struct stat sb;
	unsigned int portid;
	struct mnl_socket *nl;
	struct nl_conn *c;
	int fd, saved;

	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || !(nl = open_sock(&portid))) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	c = insert(st, name, fd, &sb, nl, portid);
	if (!c) {
		mnl_socket_close(nl);
		close(fd);
		errno = ENOMEM;
	}
	return c;
}

struct nl_conn *nl_conn_get(struct nl_cache *st, const char *netns)
{
	char path[sizeof(NSLAB_NETNS_DIR) + 256];
	struct stat sb;
	struct nl_conn *c = NULL;
	struct mnl_socket *nl;
	unsigned int portid;
	int fd, saved;

	if (!netns) {
		if (!st->self.nl) {
			st->self.nl = open_sock(&st->self.portid);
			if (!st->self.nl)
				return NULL;
			st->self.seq = 1;
		}
		return &st->self;
	}
	if (!nslab_netns_name_ok(netns)) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), NSLAB_NETNS_DIR "/%s", netns);
	/* One stat per call notices a name deleted or reused by others. */
	if (lstat(path, &sb) < 0)
		return NULL;
	c = nl_tab_find(st, netns);
	if (c && c->dev == sb.st_dev && c->ino == sb.st_ino)
		return c;
	/* O_NOFOLLOW: a symlink there could name any namespace (ELOOP). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || setns(fd, CLONE_NEWNET) < 0) {
		saved = errno;
		close(fd);
		/* A plain file at the path is not a namespace. */
		errno = saved == EINVAL ? ENOTSUP : saved;
		return NULL;
	}
	nl = open_sock(&portid);
	saved = errno;
	nl_leave(st);
	if (!nl) {
		close(fd);
		errno = saved;
		return NULL;
	}
	c = insert(st, netns, fd, &sb, nl, portid);
	if (!c) {
		mnl_socket_close(nl);
		close(fd);
		errno = ENOMEM;
	}
	return c;
}

/* Copies the extack message of an NLMSG_ERROR or NLMSG_DONE, if any. */
static void read_extack(const struct nlmsghdr *nlh, size_t off, char *out,
			size_t n)
{
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (off < NLMSG_HDRLEN || off > nlh->nlmsg_len)
		return;
	/* off counts from the message start; libmnl's from the payload. */
	mnl_attr_for_each (a, nlh, off - NLMSG_HDRLEN) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(out, n, "%s", mnl_attr_get_str(a));
			/* The kernel's texts do not end with a newline, but
			 * some add a trailing space. */
			for (size_t l = strlen(out); l && out[l - 1] == ' ';)
				out[--l] = 0;
			return;
		}
	}
}

static void fail(struct nl_err *e, int err, int index)
{
	if (e->err)
		return; /* keep the first failure */
	e->err = err;
	e->index = index;
}

/* A GET request with NLM_F_DUMP is answered by many messages and DONE. */
static int is_dump(const struct nlmsghdr *nlh)
{
	return (nlh->nlmsg_type & 3) == 2 &&
	       (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
}

/* Handles one answer; returns 1 when it was the last for its request. */
static int answer(struct nlmsghdr *nlh, uint32_t idx, mnl_cb_t cb, void *data,
		  struct nl_err *e)
{
	const struct nlmsgerr *ne;
	int v;

	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*ne)) {
			fail(e, EPROTO, (int)idx);
			return 1;
		}
		ne = mnl_nlmsg_get_payload(nlh);
		if (!ne->error && !e->warn[0])
			/* A success ACK never echoes the request (it is
			 * always NLM_F_CAPPED): a warning follows the header.
			 */
			read_extack(nlh, NLMSG_HDRLEN + sizeof(*ne), e->warn,
				    sizeof(e->warn));
		if (ne->error && !e->err) {
			fail(e, -ne->error, (int)idx);
			/* With NETLINK_CAP_ACK only the request's header is
			 * echoed; without it, the whole request. */
			read_extack(
			    nlh,
			    NLMSG_HDRLEN + sizeof(*ne) +
				((nlh->nlmsg_flags & NLM_F_CAPPED)
				     ? 0
				     : ne->msg.nlmsg_len - NLMSG_HDRLEN),
			    e->ext, sizeof(e->ext));
		}
		return 1;
	case NLMSG_DONE:
		if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
			memcpy(&v, mnl_nlmsg_get_payload(nlh), sizeof(v));
			if (v < 0 && !e->err) {
				fail(e, -v, (int)idx);
				read_extack(nlh, NLMSG_HDRLEN + sizeof(int),
					    e->ext, sizeof(e->ext));
			}
		}
		return 1;
	case NLMSG_NOOP:
	case NLMSG_OVERRUN:
		return 0;
	default:
		if (cb && !e->err && cb(nlh, data) == MNL_CB_ERROR)
			fail(e, errno ? errno : EPROTO, (int)idx);
		return 0;
	}
}

/*
 * nl_run and nl_run_batch: ack_all asks every message for an ACK (and
 * waits for all); else only the last one, errors coming back anyway, and
 * the exchange ends at the last message's answer.
 */
static int exchange(struct nl_conn *c, void *buf, size_t len, mnl_cb_t cb,
		    void *data, struct nl_err *e, int ack_all)
{
	char rbuf[32768]; /* a dump part is at most 32 KiB */
	struct nlmsghdr *nlh = buf, *last = NULL;
	uint32_t first = c->seq, n = 0, open;
	int left = (int)len;
	ssize_t r;

	e->err = 0;
	e->index = -1;
	e->ext[0] = 0;
	e->warn[0] = 0;
	while (mnl_nlmsg_ok(nlh, left)) {
		nlh->nlmsg_seq = c->seq++;
		nlh->nlmsg_pid = 0;
		if (ack_all && !is_dump(nlh))
			nlh->nlmsg_flags |= NLM_F_ACK;
		last = nlh;
		nlh = mnl_nlmsg_next(nlh, &left);
		n++;
	}
	if (!ack_all && last && !is_dump(last))
		last->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(c->nl, buf, len) < 0) {
		fail(e, errno, 0);
		return -1;
	}
	for (open = ack_all ? n : (n > 0); open > 0;) {
		r = mnl_socket_recvfrom(c->nl, rbuf, sizeof(rbuf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			/* ENOBUFS: answers were dropped; the sequence check
			 * below skips any late ones on the next call. */
			fail(e, errno, 0);
			return -1;
		}
		left = (int)r;
		for (nlh = (struct nlmsghdr *)rbuf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			uint32_t idx = nlh->nlmsg_seq - first;

			if (idx >= n)
				continue; /* stale, from an aborted exchange */
			if (answer(nlh, idx, cb, data, e) &&
			    (ack_all || idx == n - 1))
				open--;
		}
	}
	return e->err ? -1 : 0;
}

int nl_run(struct nl_conn *c, void *buf, size_t len, mnl_cb_t cb, void *data,
	   struct nl_err *e)
{
	return exchange(c, buf, len, cb, data, e, 1);
}

int nl_run_batch(struct nl_conn *c, void *buf, size_t len, struct nl_err *e)
{
	return exchange(c, buf, len, NULL, NULL, e, 0);
}

static int ifindex_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWLINK)
		*(int *)data = ifm->ifi_index;
	return MNL_CB_OK;
}

int nl_ifindex(struct nl_conn *c, const char *ifname, struct nl_err *e)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	int index = 0;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	if (nl_run(c, buf, nlh->nlmsg_len, ifindex_cb, &index, e) < 0)
		return -1;
	if (index <= 0) {
		e->err = ENODEV;
		e->index = 0;
		return -1;
	}
	return index;
}

int nl_dump(struct nl_conn *c, uint16_t type, size_t hdrlen,
	    unsigned char family, mnl_cb_t cb, void *data, struct nl_err *e)
{
	char buf[128];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned char *hdr;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	hdr = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	hdr[0] = family; /* ifa_family, rtm_family, ... come first */
	return nl_run(c, buf, nlh->nlmsg_len, cb, data, e);
}

int nl_conn_nsfd(const struct nl_cache *st, const struct nl_conn *c)
{
	return c == &st->self ? st->self_nsfd : c->nsfd;
}

int nl_cache_init(struct nl_cache *c)
{
	memset(c, 0, sizeof(*c));
	c->self.nsfd = -1;
	c->self.mntfd = c->self.utsfd = c->self.hostsfd = -1;
	c->self.ipcfd = c->self.timefd = -1;
	c->self.pidnsfd = c->self.cgfd = -1;
	c->self_nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	return c->self_nsfd < 0 ? -1 : 0;
}

void nl_cache_close(struct nl_cache *c)
{
	for (size_t i = 0; i < c->cap; i++)
		if (c->tab[i])
			conn_free(c->tab[i]);
	nl_tab_free(c);
	if (c->self.nl)
		mnl_socket_close(c->self.nl);
	c->self.nl = NULL;
	if (c->self_nsfd >= 0)
		close(c->self_nsfd);
	c->self_nsfd = -1;
}
