/*
 * core.h - what every facility uses, below all of them: the module state
 * (state.c), the nslab.error object (err.c), the option readers (opt.c)
 * and the capability check. Everything here is Lua-facing; the Lua-free
 * rtnetlink layer is nl/nl.h.
 *
 * Read: Lua 5.4 manual 4 (C API), rtnetlink(7), capabilities(7).
 */
#ifndef NSLAB_CORE_H
#define NSLAB_CORE_H

#include <stddef.h>
#include <sys/resource.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/defer.h"
#include "nl/nl.h"

#define NSLAB_STATE_MT "nslab.state"
#define NSLAB_ERROR_MT "nslab.error"

/*
 * Module state, a full userdata passed to every C function as upvalue 1.
 */
struct nslab_state {
	struct nl_cache nl; /* the rtnetlink sockets, one per netns */
	int caps_checked;   /* privileged calls checked CAP_NET_ADMIN etc. */
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
	/* bg.c: the pids of background children not reaped yet. */
	pid_t *bg;
	size_t bg_len, bg_cap;
	int bg_done, bg_failed; /* reaped since the last nslab_bg_take */
};

/* ---- bg.c: background children ---- */

/*
 * Forks a background child, every signal blocked in it, and keeps its pid
 * in st to be reaped. Returns as fork(2) does: 0 in the child (which must
 * end with _exit, its status 0 for success), the pid in nslab, or -1 with
 * errno (ENOMEM: no room to keep the pid).
 */
pid_t nslab_bg_fork(struct nslab_state *st);

/*
 * Reaps the background children that have exited (block: waits for every
 * one), counting them and those whose status was not 0.
 */
void nslab_bg_settle(struct nslab_state *st, int block);

/*
 * Waits for every background child; returns how many ended since the last
 * take, *failed how many of them failed, and starts counting anew.
 */
int nslab_bg_take(struct nslab_state *st, int *failed);

/* Waits for every background child and frees the list. */
void nslab_bg_free(struct nslab_state *st);

/* ---- state.c ---- */

/* The state from upvalue 1 of the running C function. */
struct nslab_state *nslab_state(lua_State *L);

/*
 * Pushes nslab.core (a new table holding the core functions) and the state
 * userdata: the stack becomes [..., core, state]. Raises when nslab's own
 * netns cannot be opened.
 */
void nslab_core_open(lua_State *L);

/*
 * Creates core[name] = table of reg, each function getting the state as
 * upvalue 1. Expects the stack [..., core, state] and leaves it so.
 */
void nslab_newlib(lua_State *L, const char *name, const luaL_Reg *reg);

/*
 * As luaL_setfuncs (the table below nup upvalues, which are popped), but
 * each function is called through a trampoline so that its argument
 * errors name it "prefix.name" ("netns.add", not "add") at the caller's
 * line, however it was called. nslab_newlib registers through it.
 */
void nslab_setfuncs(lua_State *L, const char *prefix, const luaL_Reg *reg,
		    int nup);

/* The public name ("netns.add") of the primitive running now, from the
 * trampoline that called it, or NULL. Pushes one value either way. */
const char *nslab_running_name(lua_State *L);

/*
 * Raises EPERM naming the missing capability unless CAP_NET_ADMIN and
 * CAP_SYS_ADMIN are effective (checked once, then remembered).
 */
void nslab_need_caps(lua_State *L, const char *op, const char *object);

/* nl_conn_get for netns, raising an error object for op/object on
 * failure (ENOENT: "netns "x" does not exist"). */
struct nl_conn *nslab_conn(lua_State *L, const char *op, const char *object,
			   const char *netns);

/* Seconds on CLOCK_MONOTONIC (the one clock for deadlines and elapsed
 * times: wall-clock changes cannot disturb it). */
double nslab_now(void);

/* ---- dir.c ---- */

/*
 * Pushes the names in directory path ("." and ".." left out) as a sorted
 * array. Returns 0, or -1 with errno set and nothing pushed (a Lua memory
 * error still raises).
 */
int nslab_push_dir(lua_State *L, const char *path);

/* ---- err.c ---- */

/* Registers the nslab.error metatable. */
void nslab_err_open(lua_State *L);

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

/* Pushes s (len bytes) in double quotes, control bytes escaped (\0,
 * \x1b), cut at 60 bytes with "..." past 64. */
void nslab_push_quoted(lua_State *L, const char *s, size_t len);

/* core.error, core.is_error, core.strerror, core.errno: for core_funcs. */
int nslab_l_error_new(lua_State *L);
int nslab_l_is_error(lua_State *L);
int nslab_l_strerror(lua_State *L);

/* Pushes core.errno: a table of errno names to numbers ({EEXIST = 17,
 * ...}), every name strerrorname_np(3) knows. */
void nslab_push_errno_names(lua_State *L);

/* ---- opt.c: the option readers ---- */

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
 * Option readers for the table at idx: each returns 1 and stores the
 * value when t[field] is present (not nil), 0 when absent, and raises an
 * argument error naming the field on a wrong type.
 */
int opt_integer(lua_State *L, int idx, const char *field, lua_Integer *v);
int opt_boolean(lua_State *L, int idx, const char *field, int *v);
const char *opt_string(lua_State *L, int idx, const char *field);

/* t[field] as a checked ifname (P5) or netns name (P4); NULL if absent. */
const char *opt_ifname(lua_State *L, int idx, const char *field,
		       const char *op);
const char *opt_netns(lua_State *L, int idx, const char *field, const char *op);

/* A name for a number (route tables, scopes, protocols, ...). */
struct opt_name {
	const char *name;
	unsigned int value;
};

/* t[field] as a boolean, def when absent. */
int opt_flag(lua_State *L, int idx, const char *field, int def);

int opt_range(lua_State *L, int idx, const char *field, lua_Integer lo,
	      lua_Integer hi, lua_Integer *v, const char *op,
	      const char *object, const char *netns);
int opt_choice(lua_State *L, int idx, const char *field,
	       const char *const names[], const char *op, const char *object,
	       const char *netns);

/*
 * Reads the optional field holding a name from tab (tab may be NULL) or an
 * integer 0..max. Returns -1 when absent; raises an EINVAL error object
 * for op/object/netns naming the field and what it accepts otherwise.
 */
long long opt_named(lua_State *L, int idx, const char *field,
		    const struct opt_name *tab, long long max, const char *op,
		    const char *object, const char *netns);

#endif
