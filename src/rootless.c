/*
 * rootless.c - running without root: user, mount and network namespaces
 * set up before Lua starts. Read: user_namespaces(7).
 */
#include <stdio.h>

#include "main.h"

int rootless_setup(int *rootless, int noenv)
{
	(void)noenv;
	if (*rootless) {
		host_message("--rootless is not available in this build yet");
		return -1;
	}
	return 0;
}
