/*
 * main.c - runs every unit case and prints "unit: N passed, N failed";
 * exits 1 when a case failed. tools/check.sh adds the counts to the
 * suite's final line. Usage: unit [-v] (-v names each case).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "unit.h"

static int case_failed;
static const char *case_name;

void unit_check(int ok, const char *what, const char *file, int line)
{
	if (ok)
		return;
	fprintf(stderr, "%s:%d: %s: failed: %s\n", file, line, case_name, what);
	case_failed = 1;
}

void unit_check_str(const char *a, const char *b, const char *what,
		    const char *file, int line)
{
	char msg[512];

	if (a == b || (a && b && !strcmp(a, b)))
		return;
	snprintf(msg, sizeof(msg), "%s is \"%s\", expected \"%s\"", what,
		 a ? a : "(null)", b ? b : "(null)");
	unit_check(0, msg, file, line);
}

int main(int argc, char **argv)
{
	const struct unit_case *lists[] = {unit_names, unit_inet, unit_sysctl,
					   unit_tab, unit_tc};
	int verbose = argc > 1 && !strcmp(argv[1], "-v");
	int passed = 0, failed = 0;

	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		for (const struct unit_case *c = lists[l]; c->name; c++) {
			case_name = c->name;
			case_failed = 0;
			c->run();
			if (case_failed)
				failed++;
			else
				passed++;
			if (verbose || case_failed)
				printf("%s %s\n", case_failed ? "FAIL" : "ok  ",
				       c->name);
		}
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
