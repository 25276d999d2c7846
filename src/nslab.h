/*
 * nslab.h - what the facility files share: the module state (one rtnetlink
 * socket per network namespace, cached), the rtnetlink transport in nl.c,
 * the error object raised to Lua and the input checks in module.c.
 *
 * Read: rtnetlink(7), netlink(7) (NETLINK_EXT_ACK, NETLINK_CAP_ACK),
 * ip-netns(8), namespaces(7), setns(2).
 */
#ifndef NSLAB_H
#define NSLAB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <lauxlib.h>
#include <lua.h>

#define NSLAB_VERSION	 "0.1.0"
#define NSLAB_NETNS_DIR	 "/run/netns"
#define NSLAB_RUN_DIR	 "/run/nslab"
#define NSLAB_STATE_MT	 "nslab.state"
#define NSLAB_ERROR_MT	 "nslab.error"
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
	/* exec_spawn.c: the mount namespace commands run in (fresh sysfs,
	 * /etc/netns/NAME bound over /etc), made on the first exec, -1
	 * until then; and /etc/netns/NAME as it was then, to notice a
	 * change (etc_racy: changed too recently to trust its ctime). */
	int mntfd;
	int etc_exists, etc_racy;
	dev_t etc_dev;
	ino_t etc_ino;
	struct timespec etc_ctime;
};

/*
 * Module state, a full userdata passed to every C function as upvalue 1.
 * The cache is an open-addressing hash on the netns name.
 */
struct nslab_state {
	int self_nsfd;	      /* the netns nslab started in */
	struct nl_conn self;  /* its socket, opened on first use */
	struct nl_conn **tab; /* named namespaces, NULL = empty slot */
	size_t cap, len;
	int caps_checked; /* privileged calls checked CAP_NET_ADMIN etc. */
	/* RLIMIT_NOFILE as nslab found it; the soft limit is raised to the
	 * hard one at module open (fds per netns), and commands get this
	 * back (programs using select(2) expect at most 1024). */
	struct rlimit nofile;
	int nofile_raised;
	/* sysctl.c: a private proc mount to open sysctls through (-1: none
	 * yet), how often it was used, and whether the kernel refused one. */
	int sysproc_fd;
	unsigned int sysproc_uses;
	int sysproc_refused;
	int netns_dir_ready; /* /run/netns exists as a shared mount */
};

/* Outcome of a netlink exchange: the first failing request and why. */
struct nl_err {
	int err;		    /* positive errno, 0 when all succeeded */
	int index;		    /* 0-based index of the failing message */
	char ext[NSLAB_EXTACK_MAX]; /* kernel's extack text, or "" */
};

/* ---- module.c: state, errors, checks ---- */

/* The state from upvalue 1 of the running C function. */
struct nslab_state *nslab_state(lua_State *L);

/*
 * Creates core[name] = table of reg, each function getting the state as
 * upvalue 1. Expects the stack [..., core, state] and leaves it so.
 * Functions are registered through nslab_setfuncs with name as prefix.
 */
void nslab_newlib(lua_State *L, const char *name, const luaL_Reg *reg);

/*
 * As luaL_setfuncs (the table below nup upvalues, which are popped), but
 * each function is called through a trampoline so that its argument
 * errors name it "prefix.name" ("netns.add", not "add") at the caller's
 * line, however it was called.
 */
void nslab_setfuncs(lua_State *L, const char *prefix, const luaL_Reg *reg,
		    int nup);

/*
 * Raises the nslab error object: a table with op, object, netns, errno,
 * code ("EEXIST"), msg (strerror, then ": " and the extack text if any)
 * and extack, printing as
 *   op object in netns "name": msg (CODE)
 * object and netns may be NULL. Never returns.
 */
int nslab_raise(lua_State *L, const char *op, const char *object,
		const char *netns, int err, const char *extack);

/* The same, taking its message from a struct nl_err. */
int nslab_raise_nl(lua_State *L, const char *op, const char *object,
		   const char *netns, const struct nl_err *e);

/*
 * The string at stack index idx (a string, or a number, which is left
 * as it is), refusing a NUL byte in it: the kernel and libc would cut
 * the name, path or value there ("fa\0x" would name "fa"). Raises an
 * EINVAL error object for op (NULL: the running primitive's public
 * name) with the string quoted as object and "FIELD contains a NUL
 * byte". Every name, path, command, argument or value that goes to the
 * kernel is read through this or nslab_checkstr.
 */
const char *nslab_nonul(lua_State *L, int idx, const char *op,
			const char *field);

/* luaL_checkstring of argument arg, then nslab_nonul. */
const char *nslab_checkstr(lua_State *L, int arg, const char *op,
			   const char *field);

/* Pushes s (len bytes) in double quotes, control bytes escaped (\0,
 * \x1b), cut at 60 bytes with "..." past 64. */
void nslab_push_quoted(lua_State *L, const char *s, size_t len);

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

/* Raise EINVAL error objects for a bad netns name or ifname. */
void nslab_check_netns(lua_State *L, const char *op, const char *name);
void nslab_check_ifname(lua_State *L, const char *op, const char *name);

/*
 * Raises an argument error when the table at idx has a key not in fields
 * (a NULL-terminated list). Non-table values are left to the caller.
 */
void nslab_check_fields(lua_State *L, int idx, const char *const fields[]);

/*
 * Reads the optional string field "netns" of the table at idx (absent or
 * nil gives NULL), checking the name. Raises on a bad type or name.
 */
const char *nslab_opt_netns(lua_State *L, int idx, const char *op);

/*
 * Raises EPERM naming the missing capability unless CAP_NET_ADMIN and
 * CAP_SYS_ADMIN are effective (checked once, then remembered).
 */
void nslab_need_caps(lua_State *L, const char *op, const char *object);

/* ---- defer.c: holding back the host's signals ---- */

/*
 * The registry key of the struct below: a full userdata (one user value,
 * the notice: a string or nil) that core.defer_signals makes on first use
 * and the nslab host's signal hook (main.c) reads. Absent: nothing was
 * ever deferred.
 */
#define NSLAB_SIGNALS_KEY "nslab.signals"

struct nslab_signals {
	int depth;   /* core.defer_signals calls running (nested) */
	int pending; /* a signal the host held back meanwhile, or 0 */
};

/* core.defer_signals([notice,] fn, ...): a lua_CFunction (defer.c). */
int nslab_l_defer_signals(lua_State *L);

/* ---- caps.c ---- */

/*
 * Returns NULL when CAP_NET_ADMIN and CAP_SYS_ADMIN are effective, else
 * the name of the first missing one ("CAP_NET_ADMIN"). libcap, capabilities(7).
 */
const char *caps_missing(void);

/* ---- nl.c: namespaces and the rtnetlink transport ---- */

/*
 * The socket for netns (NULL = the namespace nslab runs in), opened inside
 * it on first use and cached. A cached entry is checked against the nsfs
 * inode now at /run/netns/NAME and reopened if the name was reused.
 * Returns NULL with errno set (ENOENT: no such netns).
 */
struct nl_conn *nl_conn_get(struct nslab_state *st, const char *netns);

/* As nl_conn_get, raising an error object for op/object on failure. */
struct nl_conn *nslab_conn(lua_State *L, const char *op, const char *object,
			   const char *netns);

/*
 * Registers the namespace the calling thread is in now under name (after
 * unshare(CLONE_NEWNET) and the bind mount): opens its socket here, with no
 * namespace switch. Returns the entry or NULL with errno set.
 */
struct nl_conn *nl_conn_adopt(struct nslab_state *st, const char *name);

/* Closes and forgets the cached entry for name, if any. */
void nl_conn_forget(struct nslab_state *st, const char *name);

/*
 * Enters netns (NULL: the namespace nslab runs in) for the calling thread.
 * Returns 0 or -1 with errno set. nl_leave returns to nslab's own netns;
 * failing to return is unrecoverable and aborts.
 */
int nl_enter(struct nslab_state *st, const char *netns);
void nl_leave(struct nslab_state *st);

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

/* ---- facility files: each fills core.<name> ---- */
void nslab_open_netns(lua_State *L);
void nslab_open_link(lua_State *L);
void nslab_open_addr(lua_State *L);
void nslab_open_route(lua_State *L);
void nslab_open_sysctl(lua_State *L);
void nslab_open_exec(lua_State *L);
void nslab_open_record(lua_State *L);

/* module.c: luaopen_nslab, also used by main.c to preload the module. */
int luaopen_nslab(lua_State *L);

#endif
