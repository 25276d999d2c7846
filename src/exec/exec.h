/*
 * exec.h - what exec.c (the Lua API: exec, sh, spawn, proc objects),
 * exec_spawn.c (starting a child the way `ip netns exec` does, killing and
 * reaping it through its pidfd), exec_mntns.c (the mount namespace it
 * enters) and caps.c (credentials and capabilities applied in the child)
 * share.
 *
 * Read: ip-netns(8), pidfd_open(2), pidfd_send_signal(2), waitid(2),
 * capabilities(7), credentials(7).
 */
#ifndef NSLAB_EXEC_H
#define NSLAB_EXEC_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <lua.h>

#include "nl/nl.h"

/* exec.c: fills core.exec (linit.c). */
void nslab_open_exec(lua_State *L);

/* What the child needs; everything is resolved by the parent before fork
 * so the child makes no lookups (no NSS, no Lua). */
struct exec_spec {
	char *const *argv; /* NULL-terminated, argv[0] looked up in PATH */
	char *const *envp; /* NULL-terminated environment */
	const char *netns; /* name, for /etc/netns/NAME; NULL: own netns */
	int nsfd;	   /* the netns fd (cached by nl.c), -1 with NULL */
	int mntfd;	   /* its mount namespace (exec_mntns), -1 with NULL */
	int utsfd;	   /* the node's UTS namespace (exec_node.c), or -1 */
	int ipcfd, timefd; /* its IPC and time namespaces, or -1 */
	int pidnsfd;	   /* its PID namespace (exec_pidns.c), or -1 */
	int cgfd;	   /* its cgroup's cgroup.procs (for writing), or -1 */
	const char *cwd;   /* directory to run in, or NULL */
	const char *here;  /* nslab's cwd, to return to after entering
			      mntfd when cwd is NULL; NULL if unknown */
	const struct rlimit *nofile; /* RLIMIT_NOFILE to give back, or NULL */
	int fd[3];	     /* become the child's 0, 1, 2; -1: inherited */
	int foreground;	     /* give the child's group the terminal on fd 0 */
	int set_user;	     /* switch to uid/gid/groups below */
	uid_t uid;	     /*   the user */
	gid_t gid;	     /*   its primary group */
	const gid_t *groups; /*   its supplementary groups */
	size_t ngroups;
	int drop_caps;	  /* clear every capability set (caps = "none") */
	int no_pdeathsig; /* pdeathsig = false: may outlive nslab */
};

/* Why a child did not reach execve: errno and the step, as text naming
 * the path or id involved ("mount sysfs on /sys"). Sent over the
 * close-on-exec pipe; step is "" when execve itself failed. */
struct exec_fail {
	int err;
	char step[240];
};

struct nl_conn;
struct rlimit;

/* ---- exec_mntns.c ---- */

/*
 * The mount namespace commands in netns (whose cached entry is c) run in,
 * as ip netns exec makes one per command: / a recursive slave of nslab's,
 * a fresh sysfs of the netns on /sys (read-only if nslab's was), each
 * /etc/netns/NAME/FILE bound over /etc/FILE. Made once by a short-lived
 * child and kept in c->mntfd (closed with the entry), so each command
 * only joins it; made again when /etc/netns/NAME changed since (one stat
 * per call: inode and ctime). Returns the fd, or -1 with f filled.
 */
int exec_mntns(struct nl_conn *c, const char *netns, struct exec_fail *f);

/* Between nslab and a short-lived helper child: f and n (1 or 2) fds over
 * a SOCK_SEQPACKET socket (SCM_RIGHTS). exec_recv_fds returns 0 with
 * fds[0..n-1] set (close-on-exec; -1 past those sent, at least one), or -1 with
 * f filled (the child's own failure, or the receive's) and no fd left open. */
int exec_send_fds(int sock, const int *fds, int n, const struct exec_fail *f);
int exec_recv_fds(int sock, int *fds, int n, struct exec_fail *f);

/*
 * Runs work(sock, arg) in a short-lived forked child, which sends fds over
 * sock with exec_send_fds (or fails with exec_child_fail), and receives n
 * of them into fds. Returns 0, or -1 with f filled and no fd open; the
 * child is reaped either way. share_vm: a vfork-like child sharing nslab's
 * memory and fd table (neither copied): work may then make syscalls only
 * (no malloc, no stdio but snprintf), must close what it opens once sent
 * (the fds are nslab's), and must not enter a time namespace.
 */
int exec_child_fds(int (*work)(int sock, void *arg), void *arg, int *fds, int n,
		   int share_vm, struct exec_fail *f);

/* ---- exec_node.c ---- */

/* core.exec.node(netns, {hostname =, hosts =, dirs =, ipc =, time =}):
 * see lua/nslab/exec.lua. */
int l_exec_node(lua_State *L);
void exec_hosts_pull(lua_State *L, const char *op, const char *netns,
		     struct nl_conn *c);

/* ---- exec_uts.c ---- */

/* core.exec.uts(netnses, hostnames): see exec_uts.c. */
int l_exec_uts(lua_State *L);

/* ---- exec_pidns.c ---- */

/*
 * Starts the init of a new PID namespace for the node of c (named netns):
 * pid 1 there, in c's netns, UTS, IPC, time namespaces and cgroup, then
 * in the node's mount namespace, made again here (exec_mntns) with a
 * /proc of the new PID namespace; it reaps until SIGTERM. Keeps the
 * namespace in c->pidnsfd. Returns 0 with *pid and *pidfd (O_CLOEXEC)
 * set, or -1 with f filled (nothing left running, c as it was).
 */
int exec_pidns_init(struct nl_conn *c, const char *netns, pid_t *pid,
		    int *pidfd, struct exec_fail *f);

/*
 * In a helper child inside the node's new mount namespace: mounts a proc
 * of the PID namespace pidnsfd on /proc (by a grandchild in it). Returns
 * 0, or reports on errfd and exits (exec_child_fail).
 */
int exec_pidns_proc(int pidnsfd, int errfd);

/* Pushes a proc (exec.c) for the init of a PID namespace nslab started,
 * pid and pidfd (owned from then on), named object in errors, for op in
 * netns. */
void exec_push_proc(lua_State *L, const char *op, const char *object,
		    const char *netns, pid_t pid, int pidfd);

/* ---- exec_pin.c ---- */

/* core.exec.pin(netns, dir), adopt(netns, dir), unpin(dir): a node's
 * UTS/IPC/time namespaces bound under dir for other processes. */
int l_exec_pin(lua_State *L);
int l_exec_adopt(lua_State *L);
int l_exec_unpin(lua_State *L);

/* ---- exec_spawn.c ---- */

/* In a child of nslab: writes errno err and the step (printf-like) to
 * errfd as one exec_fail record, then exits with 127. */
__attribute__((noreturn, format(printf, 3, 4))) void
exec_child_fail(int errfd, int err, const char *fmt, ...);

/*
 * Forks a child that enters s->nsfd and the mount namespace s->mntfd
 * (returning to nslab's working directory unless s->cwd), its own process
 * group, the credentials and capabilities asked for, nslab's original
 * RLIMIT_NOFILE, and executes s->argv. Returns 0 with *pid and *pidfd
 * (O_CLOEXEC) set once execve succeeded; -1 with f filled when the child failed
 * before (it is reaped), or when fork, pipe or pidfd_open failed (f->step names
 * it).
 */
int exec_start(const struct exec_spec *s, pid_t *pid, int *pidfd,
	       struct exec_fail *f);

/*
 * Sends sig to the process (through its pidfd, immune to pid reuse) and
 * to its process group. Only valid while the process is not reaped: the
 * unreaped leader keeps its pid, hence the group id, from being reused.
 */
void exec_signal(pid_t pid, int pidfd, int sig);

/*
 * Reaps the exited process of pidfd (blocking, retrying on EINTR), and
 * reports *code (exit status, or -1) and *sig (signal that killed it, or
 * 0). Returns 0 or -1 with errno set.
 */
int exec_reap(int pidfd, int *code, int *sig);

/* ---- exec.c, exec_args.c, exec_proc.c, exec_end.c: the Lua side ---- */

#define PROC_MT "nslab.proc"

/* Output of exec, grown with realloc (no Lua allocation mid-loop). */
struct sink {
	char *buf;
	size_t len, cap;
};

struct proc {
	pid_t pid;	    /* 0 until started */
	int pidfd;	    /* -1 when not started or reaped */
	int fd_in;	    /* exec: write end of the stdin pipe */
	int fd_out, fd_err; /* exec: pipe read ends; spawn: memfds */
	const char *in;	    /* exec: stdin bytes (anchored by opts) */
	size_t in_len, in_off;
	int spawn, fg, check;
	int init; /* a PID namespace's init (exec_pidns.c) */
	int reaped, timed_out, code, sig;
	double start, elapsed, timeout; /* s; timeout 0: none */
	struct sink out, err;
};

/* The options shared by exec, sh and spawn, checked before anything. */
struct exec_opts {
	double timeout; /* s, 0: none */
	const char *in;
	size_t in_len;
	const char *cwd;
	const char *out_path; /* stdout to this file (nslab opens it) */
	int capture, check, caps_none, no_pdeathsig;
};

/* exec_args.c. exec_read_opts reads the table at idx (or nil) into o,
 * raising on unknown fields and wrong types; env and user are read by
 * exec_env and exec_user. Each raises an argument error naming the field,
 * exec_user an EINVAL error object for an unknown user. */
/* Pushes a new closed proc userdata and its uservalue table (names and
 * anchors: op, netns) for the command started with op; exec.c and
 * exec_spawn.c fill it in. */
struct proc *exec_proc_new(lua_State *L, const char *op, int spawn,
			   const struct exec_opts *o, const char *netns);
void exec_read_opts(lua_State *L, int idx, struct exec_opts *o, const char *op);
char **exec_argv(lua_State *L, int idx, int uv, const char *op);
char **exec_env(lua_State *L, int idx, int uv, const char *op);
void exec_user(lua_State *L, int idx, int uv, struct exec_spec *s,
	       const char *op, const char *object, const char *netns);

/* Appends the value on top to the anchor table at uv, popping it. */
void exec_anchor(lua_State *L, int uv);

/* exec_end.c */

/* exec_until fills ts with the time left until deadline (nslab_now()
 * seconds; 0 when past) for ppoll; no deadline (0): NULL. */
struct timespec *exec_until(double deadline, struct timespec *ts);

/* Ends the process: SIGKILL to its group (and, with kill_leader, to the
 * leader through its pidfd), reaps it, gives the terminal back; safe to
 * call twice. proc_close_fds closes nslab's ends and frees the output. */
void proc_end(struct proc *p, int kill_leader);
void proc_close_fds(struct proc *p);

/* The op, object ("argv[0]" quoted) and netns (or NULL) errors name,
 * kept in the uservalue of the proc at idx. */
void proc_names(lua_State *L, int idx, const char **op, const char **object,
		const char **netns);

/* Pushes {ok, status, signal, stdout, stderr, elapsed, timed_out}. */
void proc_push_result(lua_State *L, struct proc *p);
int proc_result_ok(const struct proc *p);

/* Pushes how the reaped process ended: "exited with status 3", "killed
 * by SIGTERM", "timed out after 0.5 s". */
void proc_push_ending(lua_State *L, const struct proc *p);

/* Raise the error of check=true (the result table at index result), and
 * of a wait interrupted by a signal (after killing the group). */
int proc_raise_check(lua_State *L, int proc, int result);
int proc_raise_interrupted(lua_State *L, int proc, int err);

/* exec_proc.c */

/* Creates the proc metatable; gives the registry table at index registry
 * weak keys and a finalizer that ends every proc left. */
void proc_open(lua_State *L, int registry);

/* core.exec.killall() -> n and core.exec.procs() -> array; upvalue 2 is
 * the registry. */
int l_proc_killall(lua_State *L);
int l_proc_list(lua_State *L);

#endif
