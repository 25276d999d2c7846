/*
 * caps.h - capability and credential helpers (libcap): the privilege check
 * every privileged call makes, and the steps a command's child takes to
 * become another user. No Lua. Read: capabilities(7), credentials(7).
 */
#ifndef NSLAB_CAPS_H
#define NSLAB_CAPS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Returns NULL when CAP_NET_ADMIN and CAP_SYS_ADMIN are effective, else
 * the name of the first missing one ("CAP_NET_ADMIN"). libcap, capabilities(7).
 */
const char *caps_missing(void);

/*
 * Finds a user by name (name not NULL) or by uid: fills *uid, *gid and,
 * when the user is known, the supplementary groups (getgrouplist) into
 * groups (room for *ngroups; on return the count). A uid without a
 * passwd entry gets gid = uid and no groups. Runs in the parent (NSS).
 * Returns 0, or -1 with errno: ENOENT unknown name, ERANGE *ngroups too
 * small (then *ngroups is the count needed).
 */
int caps_user_find(const char *name, uid_t *uid, gid_t *gid, gid_t *groups,
		   int *ngroups);

/*
 * In the child, before any credential change: removes every capability
 * from the bounding set (needs CAP_SETPCAP, hence before setuid). Returns
 * 0 or -1 with errno.
 */
int caps_drop_bounding(void);

/*
 * In the child: setgroups, setgid, setuid, in that order (each later
 * call needs the privilege the earlier ones keep). Returns 0, or -1 with
 * errno and *step naming the failing call.
 */
int caps_switch_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
		     const char **step);

/*
 * In the child, last: clears the effective, permitted and inheritable
 * sets (cap_set_proc), the ambient set, and sets no_new_privs so no
 * set-uid or file-capability program can win them back. Returns 0 or -1
 * with errno and *step set.
 */
int caps_clear(const char **step);

#endif
