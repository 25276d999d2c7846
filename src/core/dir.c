/*
 * dir.c - a directory's entries as a sorted Lua array, for the facilities
 * that list what lives in one (netns.list over /run/netns, the lab records
 * in /run/nslab), with the directory API: never `ls` output.
 *
 * Read: opendir(3), readdir(3).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads path's names ("." and ".." left out) into *out (n of them,
 * malloc'ed). Returns 0, or -1 with errno set and nothing to free. */
static int dir_read(const char *path, char ***out, size_t *count)
{
	DIR *d = opendir(path);
	char **names = NULL, **tmp;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int err = 0;

	if (!d)
		return -1;
	while (!err && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			tmp = realloc(names, cap * sizeof(*names));
			if (!tmp) {
				err = ENOMEM;
				break;
			}
			names = tmp;
		}
		if (!(names[n] = strdup(de->d_name)))
			err = ENOMEM;
		else
			n++;
	}
	closedir(d);
	if (err) {
		while (n)
			free(names[--n]);
		free(names);
		errno = err;
		return -1;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	*count = n;
	return 0;
}

int nslab_push_dir(lua_State *L, const char *path)
{
	char **names;
	size_t n;

	if (dir_read(path, &names, &n) < 0)
		return -1;
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
		free(names[i]);
	}
	free(names);
	return 0;
}
