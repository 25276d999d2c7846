/*
 * cgroup.c - the cgroup v2 directories a lab makes for its nodes (`cgroup
 * =`, lua/nslab/cgroup.lua): made exclusively and identified by inode (a
 * directory made again under the same path since is another cgroup), the
 * interface files written with one write(2) each so the kernel's refusal
 * comes back with its errno, and removed by killing what is left in them
 * (cgroup.kill), waiting until they are empty, then rmdir.
 *
 * Syscalls: mkdir(2), lstat(2), open(2), write(2), rmdir(2). Read:
 * Documentation/admin-guide/cgroup-v2.rst (cgroup.kill, cgroup.events).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "lab/lab.h"

/* Writes text to path in one write(2); returns 0 or -1 with errno set. */
static int write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW), err;
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, text, len);
	err = errno;
	close(fd);
	if (w == (ssize_t)len)
		return 0;
	errno = w < 0 ? err : EIO;
	return -1;
}

/* cgroup.mkdir(path) -> inode: makes the directory (mode 0755), which
 * must not exist. Raises the error object naming it (EEXIST, EACCES). */
static int l_cgroup_mkdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat sb;

	if (mkdir(path, 0755) < 0 || lstat(path, &sb) < 0)
		return nslab_raise(L, "cgroup.mkdir", path, NULL, errno, NULL);
	lua_pushinteger(L, (lua_Integer)sb.st_ino);
	return 1;
}

/* cgroup.id(path) -> inode | nil: the directory's inode, nil when there
 * is no directory there. */
static int l_cgroup_id(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat sb;

	if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
		lua_pushnil(L);
	else
		lua_pushinteger(L, (lua_Integer)sb.st_ino);
	return 1;
}

/* cgroup.write(path, text): writes an interface file (cpu.max, ...).
 * Raises the error object naming the file with the kernel's errno. */
static int l_cgroup_write(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	size_t len;
	const char *text = luaL_checklstring(L, 2, &len);

	if (write_file(path, text, len) < 0)
		return nslab_raise(L, "cgroup.write", path, NULL, errno,
				   lua_pushfstring(L, "write \"%s\"", text));
	return 0;
}

/* Whether the cgroup at dir still holds processes (cgroup.events says
 * "populated 1"); 0 when it cannot be read. */
static int populated(const char *dir)
{
	char path[PATH_MAX], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return strstr(buf, "populated 1") != NULL;
}

/*
 * cgroup.remove(path, inode) -> boolean: while path is still the
 * directory of that inode, kills every process in it (cgroup.kill), waits
 * (at most 2 s) until it is empty, and removes it. false when it is gone
 * or another directory now; raises the error object of rmdir (EBUSY: a
 * child cgroup or a process left).
 */
static int l_cgroup_remove(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lua_Integer ino = luaL_checkinteger(L, 2);
	char kill_file[PATH_MAX];
	struct timespec tick = {0, 10000000L}; /* 10 ms */
	struct stat sb;

	if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode) ||
	    (lua_Integer)sb.st_ino != ino) {
		lua_pushboolean(L, 0);
		return 1;
	}
	snprintf(kill_file, sizeof(kill_file), "%s/cgroup.kill", path);
	write_file(kill_file, "1", 1); /* absent before Linux 5.14: fine */
	for (int i = 0; i < 200 && populated(path); i++)
		nanosleep(&tick, NULL);
	if (rmdir(path) < 0)
		return nslab_raise(L, "cgroup.remove", path, NULL, errno,
				   "rmdir");
	lua_pushboolean(L, 1);
	return 1;
}

static const luaL_Reg funcs[] = {
    {"mkdir", l_cgroup_mkdir},	 {"id", l_cgroup_id}, {"write", l_cgroup_write},
    {"remove", l_cgroup_remove}, {NULL, NULL},
};

void nslab_open_cgroup(lua_State *L)
{
	nslab_newlib(L, "cgroup", funcs);
}
