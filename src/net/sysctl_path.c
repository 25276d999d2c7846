/*
 * sysctl_path.c - a sysctl key turned into its path under /proc/sys, as
 * sysctl(8) does, refusing keys that would leave /proc/sys. No Lua and no
 * I/O, so it is unit-tested without privilege (tests/unit/).
 *
 * Read: sysctl(8), sysctl.d(5) (keys with slashes), proc(5).
 */
#define _GNU_SOURCE
#include <string.h>

#include "net/text.h"

#define SYSCTL_DIR "/proc/sys/"

const char *sysctl_path(const char *key, char *path, size_t n)
{
	char sep = strchr(key, '/') ? '/' : '.';
	size_t len = strlen(key), off = sizeof(SYSCTL_DIR) - 1;
	const char *part = key;

	if (len == 0)
		return "sysctl name is empty";
	if (off + len >= n)
		return "sysctl name is too long";
	memcpy(path, SYSCTL_DIR, off);
	for (const char *p = key;; p++) {
		if (*p == sep || !*p) {
			size_t pl = (size_t)(p - part);

			if (pl == 0)
				return "sysctl name has an empty part";
			if ((pl == 1 && part[0] == '.') ||
			    (pl == 2 && part[0] == '.' && part[1] == '.'))
				return "sysctl name has a \".\" or \"..\" part";
			part = p + 1;
		} else if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			return "sysctl name contains whitespace or a control "
			       "character";
		}
		path[off++] = *p == sep ? '/' : *p;
		if (!*p)
			return NULL;
	}
}
