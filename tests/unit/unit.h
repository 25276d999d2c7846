/*
 * unit.h - a minimal harness for the unit tests of nslab's pure helpers
 * (no Lua, no namespaces, no privilege), in the spirit of bubblewrap's
 * tests/test-utils.c. A case is a function; CHECK records a failed
 * condition with its file and line and the case then counts as failed.
 */
#ifndef NSLAB_UNIT_H
#define NSLAB_UNIT_H

#include <string.h>

/* Records the outcome of one condition of the running case. */
void unit_check(int ok, const char *what, const char *file, int line);

#define CHECK(cond) unit_check(!!(cond), #cond, __FILE__, __LINE__)
/* Two strings are equal (NULL equals only NULL). */
#define CHECK_STR(a, b) unit_check_str((a), (b), #a, __FILE__, __LINE__)

void unit_check_str(const char *a, const char *b, const char *what,
		    const char *file, int line);

struct unit_case {
	const char *name;
	void (*run)(void);
};

/* The cases of each file, each list ended by a NULL name. */
extern const struct unit_case unit_names[], unit_inet[], unit_sysctl[],
    unit_tab[], unit_tc[];

#endif
