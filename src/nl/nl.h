/*
 * nl.h - the rtnetlink layer, with no Lua in it: the per-netns socket
 * cache, namespace switching, the request/ACK transport with extended
 * ACKs, and the name rules (netns names, ifnames) every caller checks
 * first. The host may use it before a Lua state exists.
 *
 * Read: rtnetlink(7), netlink(7) (NETLINK_EXT_ACK, NETLINK_CAP_ACK),
 * ip-netns(8), namespaces(7), setns(2).
 */
#ifndef NSLAB_NL_H
#define NSLAB_NL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <libmnl/libmnl.h>

#define NSLAB_NETNS_DIR	 "/run/netns"
#define NSLAB_RUN_DIR	 "/run/nslab"
#define NSLAB_EXTACK_MAX 256

/* One rtnetlink socket opened inside one network namespace. */
struct nl_conn {
	char *name; /* netns name; NULL for the namespace nslab runs in */
	int nsfd;   /* O_RDONLY|O_CLOEXEC fd of that namespace */
	dev_t dev;  /* st_dev/st_ino of the nsfs inode, to notice when */
	ino_t ino;  /*   the name now points at another namespace */
	struct mnl_socket *nl;
	unsigned int portid;
	unsigned int seq;
	/* exec_mntns.c: the mount namespace commands run in (fresh sysfs,
	 * /etc/netns/NAME bound over /etc), made on the first exec, -1
	 * until then; and /etc/netns/NAME as it was then, to notice a
	 * change (etc_racy: changed too recently to trust its ctime). */
	int mntfd;
	int etc_exists, etc_racy;
	dev_t etc_dev;
	ino_t etc_ino;
	struct timespec etc_ctime;
	/* exec_node.c: what a lab gave the node of this netns. utsfd: its
	 * UTS namespace (hostname), joined by every command, -1 if none.
	 * hosts: the text bound over /etc/hosts in mntfd (NULL: none), and
	 * hostsfd the file holding it there (rewritten in place), or -1. */
	int utsfd;
	int ipcfd, timefd; /* its IPC and time namespaces, or -1 */
	/* exec_pidns.c: its PID namespace (pid = true), whose init the lab
	 * owns as a proc, or -1; cgfd: cgroup.procs of its cgroup (cgroup =),
	 * opened for writing, which every command joins, or -1. */
	int pidnsfd, cgfd;
	char *hosts;
	int hostsfd;
	/* hosts_pull: hosts is asked again, before each command, of the Lua
	 * function the lab gave (exec_hosts_pull), 0: hosts is fixed. */
	int hosts_pull;
	/* dirs: directories given a fresh tmpfs in mntfd, each string
	 * NUL-terminated, the list ended by an empty one (NULL: none). */
	char *dirs;
};

/*
 * The socket cache: nslab's own namespace and an open-addressing hash of
 * named ones, keyed by netns name.
 */
struct nl_cache {
	int self_nsfd;	      /* the netns nslab started in */
	struct nl_conn self;  /* its socket, opened on first use */
	struct nl_conn **tab; /* named namespaces, NULL = empty slot */
	size_t cap, len;
};

/* Outcome of a netlink exchange: the first failing request and why. */
struct nl_err {
	int err;		    /* positive errno, 0 when all succeeded */
	int index;		    /* 0-based index of the failing message */
	char ext[NSLAB_EXTACK_MAX]; /* kernel's extack text, or "" */
	/* The first warning the kernel sent with a successful ACK (extack
	 * text on an ACK with error 0, as tc's qdiscs send), or "". */
	char warn[NSLAB_EXTACK_MAX];
};

/* ---- names.c: the name rules (pure functions) ---- */

/*
 * iproute2's rule for netns names: non-empty, not "." or "..", no '/',
 * at most 255 bytes. Returns 1 when valid.
 */
int nslab_netns_name_ok(const char *name);

/*
 * Checks an interface name (1..15 bytes, no '/', ':' or whitespace);
 * returns NULL when valid, else a reason written into buf.
 */
const char *nslab_ifname_problem(const char *name, char *buf, size_t n);

/* ---- nl_tab.c: the cache's table of named entries (no I/O) ---- */

/* The entry named name, or NULL. */
struct nl_conn *nl_tab_find(const struct nl_cache *st, const char *name);

/*
 * Puts c (keyed by c->name) in the table, growing it as needed. Returns 0,
 * or -1 with errno ENOMEM (table unchanged) or EEXIST (the name is there:
 * take it first).
 */
int nl_tab_put(struct nl_cache *st, struct nl_conn *c);

/* Removes the entry named name and returns it (the caller closes it), or
 * NULL when there is none. */
struct nl_conn *nl_tab_take(struct nl_cache *st, const char *name);

/* Frees the table itself, leaving it empty; its entries are not closed. */
void nl_tab_free(struct nl_cache *st);

/* ---- nl.c: namespaces and the rtnetlink transport ---- */

/*
 * Opens nslab's own netns (the calling thread's) into c. Returns 0, or -1
 * with errno set. nl_cache_close closes every socket and fd, safe twice.
 */
int nl_cache_init(struct nl_cache *c);
void nl_cache_close(struct nl_cache *c);

/*
 * The socket for netns (NULL = the namespace nslab runs in), opened inside
 * it on first use and cached. A cached entry is checked against the nsfs
 * inode now at /run/netns/NAME and reopened if the name was reused.
 * Returns NULL with errno set (ENOENT: no such netns).
 */
struct nl_conn *nl_conn_get(struct nl_cache *st, const char *netns);

/*
 * Registers the namespace the calling thread is in now under name (after
 * unshare(CLONE_NEWNET) and the bind mount): opens its socket here, with no
 * namespace switch. Returns the entry or NULL with errno set.
 */
struct nl_conn *nl_conn_adopt(struct nl_cache *st, const char *name);

/* Closes and forgets the cached entry for name, if any. */
void nl_conn_forget(struct nl_cache *st, const char *name);

/*
 * Enters netns (NULL: the namespace nslab runs in) for the calling thread.
 * Returns 0 or -1 with errno set. nl_leave returns to nslab's own netns;
 * failing to return is unrecoverable and aborts.
 */
int nl_enter(struct nl_cache *st, const char *netns);
void nl_leave(struct nl_cache *st);

/* The fd of c's network namespace (nslab's own for the self entry). */
int nl_conn_nsfd(const struct nl_cache *st, const struct nl_conn *c);

/*
 * Sends the netlink messages in buf (len bytes, one or more, each already
 * complete) in one sendmsg and reads every answer. Sequence numbers and
 * NLM_F_ACK are set here; a message with NLM_F_DUMP ends at NLMSG_DONE.
 * cb (may be NULL) sees each data message. Returns 0, or -1 with e filled
 * for the first failing message (all answers are still read, so the
 * socket stays in step).
 */
int nl_run(struct nl_conn *c, void *buf, size_t len, mnl_cb_t cb, void *data,
	   struct nl_err *e);

/*
 * As nl_run for a batch of requests (no dumps, no data answers): only the
 * last message asks for an ACK; the kernel still answers each failing one
 * (e: the first), and goes on with the next. Returns 0 or -1 as nl_run.
 */
int nl_run_batch(struct nl_conn *c, void *buf, size_t len, struct nl_err *e);
/*
 * Dumps every object of one kind (type RTM_GETADDR, RTM_GETROUTE, ...)
 * with a request whose family header is hdrlen bytes (sizeof(struct
 * ifaddrmsg), ...), zero but its first byte, the family (AF_UNSPEC: all).
 * cb sees each object. Returns as nl_run.
 */
int nl_dump(struct nl_conn *c, uint16_t type, size_t hdrlen,
	    unsigned char family, mnl_cb_t cb, void *data, struct nl_err *e);

/*
 * The ifindex of ifname in c's namespace (RTM_GETLINK by IFLA_IFNAME), or
 * -1 with e filled (ENODEV: no such device, with the kernel's extack).
 */
int nl_ifindex(struct nl_conn *c, const char *ifname, struct nl_err *e);

/* ---- nl_probe.c ---- */

/*
 * Sends the request in buf (len bytes) in a brand-new network namespace
 * of the calling thread, then returns to nslab's own (st): nothing is
 * left anywhere. Returns 0 when the kernel answered (e says how: err 0,
 * or its refusal), -1 with errno set when the probe itself could not run.
 */
int nl_probe(struct nl_cache *st, void *buf, size_t len, struct nl_err *e);

#endif
