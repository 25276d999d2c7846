/*
 * caps.c - capabilities through libcap: whether the privileged calls can
 * work (CAP_NET_ADMIN, CAP_SYS_ADMIN effective).
 *
 * Read: capabilities(7), cap_get_proc(3), user_namespaces(7).
 */
#include <sys/capability.h>

#include "nslab.h"

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
