/*
 * labfloor.c - the chain-N floor with what every lab node must have: the
 * same work as ../shared/bench/chainfloor.c (N namespaces made with
 * unshare(2) and bound as `ip netns add` binds them, then one libmnl batch
 * per namespace: the veth to the next one, its addresses, up), plus, in
 * each new namespace as it is made, the kernel work a lab node needs and
 * the bare floor leaves out:
 *
 *   - net.ipv4.ping_group_range = "0 2147483647" (pitfall P8: ping after
 *     privileges are dropped) and net.ipv6.conf.default.accept_dad = 0
 *     (pitfall P2: IPv6 usable at once, link-local addresses included),
 *     written through a private proc mount replaced every 32 uses, as
 *     src/net/sysctl.c writes them;
 *   - with LABFLOOR_UTS=1, its own UTS namespace named after the node
 *     (issue 14), kept by an fd.
 *
 * So `make bench` can tell the kernel cost of a lab's own duties from
 * nslab's: scripts/bench/live.lua pairs lab:apply with both floors.
 *
 * Build: cc -O2 -o build/labfloor scripts/bench/labfloor.c -lmnl
 * Usage (inside tools/sandbox.sh, LABFLOOR_SANDBOX=1): labfloor N
 * Prints "RESULT impl=lab-floor n=N build=S ns=S", S in seconds (ns: the
 * namespaces' part of build).
 * Syscalls: unshare(2), setns(2), mount(2), fsopen(2), fsconfig(2),
 * fsmount(2), sethostname(2). Netlink: RTM_NEWLINK, RTM_NEWADDR
 * (rtnetlink(7)).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/mount.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NETNS_DIR  "/run/netns"
#define PROC_REUSE 32
#define BUF	   8192

struct node {
	int nsfd, utsfd;
	struct mnl_socket *nl;
};

static struct node *nodes;
static int made, home_net, home_uts = -1, uts;
static unsigned seq;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void undo(void)
{
	char path[64];

	for (int i = 0; i < made; i++) {
		if (nodes[i].nl)
			mnl_socket_close(nodes[i].nl);
		if (nodes[i].utsfd >= 0)
			close(nodes[i].utsfd);
		close(nodes[i].nsfd);
		snprintf(path, sizeof(path), NETNS_DIR "/lf%d", i);
		umount2(path, MNT_DETACH);
		unlink(path);
	}
	made = 0;
}

static void fail(const char *what)
{
	fprintf(stderr, "labfloor: %s: %s\n", what, strerror(errno));
	undo();
	exit(1);
}

/* A proc mount attached nowhere, replaced every PROC_REUSE uses (a long
 * dcache chain of per-netns "net" entries slows every lookup). */
static int proc_fd(void)
{
	static int fd = -1, uses;

	if (fd >= 0 && uses++ < PROC_REUSE)
		return fd;
	if (fd >= 0)
		close(fd);
	int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
	if (fs < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		fail("fsopen proc");
	fd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	close(fs);
	if (fd < 0)
		fail("fsmount proc");
	uses = 1;
	return fd;
}

static void set_sysctl(const char *rel, const char *value)
{
	int fd = openat(proc_fd(), rel, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		fail(rel);
	close(fd);
}

static void make_node(int i)
{
	char path[64], host[32];
	struct node *n = &nodes[i];
	int fd;

	snprintf(path, sizeof(path), NETNS_DIR "/lf%d", i);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		fail(path);
	close(fd);
	if (unshare(CLONE_NEWNET))
		fail("unshare net");
	n->utsfd = -1;
	n->nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (n->nsfd < 0)
		fail("open netns");
	made = i + 1;
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL))
		fail("bind mount");
	set_sysctl("sys/net/ipv4/ping_group_range", "0 2147483647");
	set_sysctl("sys/net/ipv6/conf/default/accept_dad", "0");
	n->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!n->nl || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID))
		fail("rtnetlink socket");
	if (uts) {
		snprintf(host, sizeof(host), "lf%d", i);
		if (unshare(CLONE_NEWUTS) || sethostname(host, strlen(host)))
			fail("uts");
		n->utsfd =
		    open("/proc/thread-self/ns/uts", O_RDONLY | O_CLOEXEC);
		if (n->utsfd < 0 || setns(home_uts, CLONE_NEWUTS))
			fail("uts fd");
	}
	if (setns(home_net, CLONE_NEWNET))
		fail("setns back");
}

static struct nlmsghdr *put(struct mnl_nlmsg_batch *b, int type, int flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));

	h->nlmsg_type = (unsigned short)type;
	h->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
	h->nlmsg_seq = ++seq;
	return h;
}

static struct nlmsghdr *put_up(struct mnl_nlmsg_batch *b, int ifindex)
{
	struct nlmsghdr *h = put(b, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));

	ifm->ifi_index = ifindex;
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	mnl_nlmsg_batch_next(b);
	return h;
}

static void put_addr(struct mnl_nlmsg_batch *b, int ifindex, int link, int end)
{
	struct nlmsghdr *h = put(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	uint32_t a = htonl((10u << 24 | 77u << 16) + 4u * (unsigned)link +
			   (unsigned)end);

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 30;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put_u32(h, IFA_LOCAL, a);
	mnl_attr_put_u32(h, IFA_ADDRESS, a);
	mnl_nlmsg_batch_next(b);
}

/* veth eth1 (ifindex 3, up) here, its peer eth0 (ifindex 2) in peer_ns */
static void put_veth(struct mnl_nlmsg_batch *b, int peer_ns)
{
	struct nlmsghdr *h = put(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
	struct ifinfomsg *pifm;
	struct nlattr *info, *data, *peer;

	ifm->ifi_index = 3;
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	mnl_attr_put_strz(h, IFLA_IFNAME, "eth1");
	mnl_attr_put_u32(h, IFLA_NUM_TX_QUEUES, 1);
	mnl_attr_put_u32(h, IFLA_NUM_RX_QUEUES, 1);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
	pifm = mnl_nlmsg_get_payload_tail(h);
	memset(pifm, 0, sizeof(*pifm));
	pifm->ifi_index = 2;
	h->nlmsg_len += MNL_ALIGN(sizeof(*pifm));
	mnl_attr_put_strz(h, IFLA_IFNAME, "eth0");
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)peer_ns);
	mnl_attr_put_u32(h, IFLA_NUM_TX_QUEUES, 1);
	mnl_attr_put_u32(h, IFLA_NUM_RX_QUEUES, 1);
	mnl_attr_nest_end(h, peer);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	mnl_nlmsg_batch_next(b);
}

/* Node i's one batch (only its last message asks for an ACK). */
static void configure(int i, int n)
{
	static char buf[2 * BUF], rbuf[BUF];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, BUF);
	struct mnl_socket *nl = nodes[i].nl;
	struct nlmsghdr *last;
	ssize_t len;
	int r;

	if (i > 0) {
		put_addr(b, 2, i - 1, 2);
		put_up(b, 2);
	}
	if (i < n - 1) {
		put_veth(b, nodes[i + 1].nsfd);
		put_addr(b, 3, i, 1);
	}
	last = put_up(b, 1);
	last->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b),
			      mnl_nlmsg_batch_size(b)) < 0)
		fail("sendto");
	mnl_nlmsg_batch_stop(b);
	do {
		len = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));
		if (len < 0)
			fail("recv");
		r = mnl_cb_run(rbuf, (size_t)len, 0, mnl_socket_get_portid(nl),
			       NULL, NULL);
		if (r == MNL_CB_ERROR)
			fail("rtnetlink batch");
	} while (r != MNL_CB_STOP);
}

int main(int argc, char **argv)
{
	const char *sb = getenv("LABFLOOR_SANDBOX"),
		   *u = getenv("LABFLOOR_UTS");
	int n = argc == 2 ? atoi(argv[1]) : 0;
	double t0, tns, t1;

	if (n < 1) {
		fprintf(stderr, "usage: labfloor N\n");
		return 2;
	}
	if (!sb || strcmp(sb, "1")) {
		fprintf(stderr,
			"labfloor: refusing to run outside tools/sandbox.sh\n");
		return 2;
	}
	uts = u && !strcmp(u, "1");
	nodes = calloc((size_t)n, sizeof(*nodes));
	home_net = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (uts)
		home_uts =
		    open("/proc/thread-self/ns/uts", O_RDONLY | O_CLOEXEC);
	if (!nodes || home_net < 0 || (uts && home_uts < 0))
		fail("start");
	t0 = now();
	mkdir(NETNS_DIR, 0755);
	while (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL)) {
		if (errno != EINVAL ||
		    mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL))
			fail("mount " NETNS_DIR);
	}
	for (int i = 0; i < n; i++)
		make_node(i);
	tns = now();
	for (int i = 0; i < n; i++)
		configure(i, n);
	t1 = now();
	undo();
	printf("RESULT impl=lab-floor%s n=%d build=%.6f ns=%.6f\n",
	       uts ? "-uts" : "", n, t1 - t0, tns - t0);
	return 0;
}
