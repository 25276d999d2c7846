/*
 * caps.c - capabilities and credentials through libcap: whether the
 * privileged calls can work (CAP_NET_ADMIN, CAP_SYS_ADMIN effective), and
 * least privilege for commands (exec/spawn options user= and caps=):
 * resolving a user in the parent, switching groups, gid and uid and
 * clearing every capability set in the child.
 *
 * Read: capabilities(7), cap_get_proc(3), cap_drop_bound(3),
 * cap_reset_ambient(3), credentials(7), getgrouplist(3), setgroups(2),
 * PR_SET_NO_NEW_PRIVS in prctl(2), user_namespaces(7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/caps.h"

const char *caps_missing(void)
{
	static const struct {
		cap_value_t cap;
		const char *name;
	} need[] = {
	    {CAP_NET_ADMIN, "CAP_NET_ADMIN"},
	    {CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
	};
	const char *missing = NULL;
	cap_t caps = cap_get_proc();

	if (!caps)
		return "CAP_NET_ADMIN";
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]) && !missing;
	     i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(caps, need[i].cap, CAP_EFFECTIVE, &v) < 0 ||
		    v != CAP_SET)
			missing = need[i].name;
	}
	cap_free(caps);
	return missing;
}

int caps_user_find(const char *name, uid_t *uid, gid_t *gid, gid_t *groups,
		   int *ngroups)
{
	char buf[16384];
	struct passwd pw, *res = NULL;
	int err, room = *ngroups;

	if (name)
		err = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	else
		err = getpwuid_r(*uid, &pw, buf, sizeof(buf), &res);
	if (err)
		return errno = err, -1;
	if (!res) {
		if (name)
			return errno = ENOENT, -1;
		/* A bare uid is legitimate (containers, test users). */
		*gid = (gid_t)*uid;
		*ngroups = 0;
		return 0;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, ngroups) < 0)
		return errno = ERANGE, -1;
	if (*ngroups > room) /* glibc reports the need this way too */
		return errno = ERANGE, -1;
	return 0;
}

int caps_drop_bounding(void)
{
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++)
		if (cap_drop_bound(c) < 0 && errno != EINVAL)
			return -1;
	return 0;
}

int caps_switch_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
		     const char **step)
{
	if (setgroups(n, groups) < 0)
		return *step = "setgroups", -1;
	if (setresgid(gid, gid, gid) < 0)
		return *step = "setgid", -1;
	if (setresuid(uid, uid, uid) < 0)
		return *step = "setuid", -1;
	return 0;
}

int caps_clear(const char **step)
{
	cap_t none = cap_init(); /* all three sets empty */
	int r;

	if (!none)
		return *step = "drop capabilities", -1;
	r = cap_set_proc(none);
	cap_free(none);
	if (r < 0)
		return *step = "drop capabilities", -1;
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return *step = "clear ambient capabilities", -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return *step = "set no_new_privs", -1;
	return 0;
}
