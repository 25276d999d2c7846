/*
 * record.c - what the lab record (lua/nslab/record.lua) and `nslab --clean`
 * need from the system and Lua's io library cannot give: files opened
 * close-on-exec and without following symlinks (a command a lab runs must
 * not inherit a writable record), a bounded read that refuses anything but
 * a regular file (a FIFO would hang --clean), a directory listing without
 * a shell, a private directory, and signalling a recorded process group
 * only while its leader is provably the recorded process.
 *
 * Also the record's lock: a lab's guests (`nslab --attach` while its owner
 * runs) append to the record, and its owner's close reads what they added,
 * both under an flock(2) on the record file itself.
 *
 * Syscalls: open (O_CLOEXEC, O_NOFOLLOW, O_NONBLOCK), fstat, lstat, stat,
 * mkdir, chmod, flock, opendir/readdir, pidfd_open, pidfd_send_signal,
 * kill. Read: open(2), flock(2), proc(5) (/proc/PID/stat: fields 5 pgrp
 * and 22 starttime), pidfd_open(2), kill(2).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"
#include "lab/lab.h"

/* The io-library convention these helpers keep: nil, "path: reason", errno. */
static int fail(lua_State *L, const char *path, int err, const char *why)
{
	lua_pushnil(L);
	lua_pushfstring(L, "%s: %s", path, why ? why : strerror(err));
	lua_pushinteger(L, err);
	return 3;
}

static int stream_close(lua_State *L)
{
	luaL_Stream *p = luaL_checkudata(L, 1, LUA_FILEHANDLE);

	return luaL_fileresult(L, fclose(p->f) == 0, NULL);
}

/*
 * record.open(path, mode) -> file | nil, message, errno. mode "r" reads,
 * "w" makes a new file (an old one is removed first, so its mode and
 * owner do not carry over), "a" appends to an existing one. Always
 * O_CLOEXEC and O_NOFOLLOW; new files are 0600. The result is an ordinary
 * Lua file handle (io library's metatable).
 */
static int l_record_open(lua_State *L)
{
	static const char *const modes[] = {"r", "w", "a", NULL};
	static const int flags[] = {O_RDONLY, O_WRONLY | O_CREAT | O_EXCL,
				    O_WRONLY | O_APPEND};
	const char *path = luaL_checkstring(L, 1);
	int m = luaL_checkoption(L, 2, NULL, modes);
	luaL_Stream *p;
	int fd, err;

	if (luaL_getmetatable(L, LUA_FILEHANDLE) != LUA_TTABLE)
		return luaL_error(L,
				  "record.open: the io library is not loaded");
	lua_pop(L, 1);
	p = lua_newuserdatauv(L, sizeof(*p), 0);
	p->f = NULL;
	p->closef = NULL; /* closed until the fd is in it */
	luaL_setmetatable(L, LUA_FILEHANDLE);
	if (m == 1 && unlink(path) < 0 && errno != ENOENT)
		return fail(L, path, errno, NULL);
	fd = open(path, flags[m] | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail(L, path, errno, NULL);
	p->f = fdopen(fd, modes[m]);
	if (!p->f) {
		err = errno;
		close(fd);
		return fail(L, path, err, NULL);
	}
	p->closef = stream_close;
	return 1;
}

/*
 * record.read(path, max) -> text, {uid, mine, mode, size} | nil, message,
 * errno: the whole of a regular file of at most max bytes (EFBIG beyond),
 * opened O_NOFOLLOW|O_NONBLOCK so a symlink, FIFO or device is refused
 * (ELOOP, EINVAL) instead of followed or waited on. mode is the permission
 * bits; mine is whether this process's effective uid owns it.
 */
static int l_record_read(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lua_Integer max = luaL_checkinteger(L, 2);
	luaL_Buffer b;
	struct stat sb;
	size_t got = 0;
	ssize_t r;
	char *buf;
	int fd, err;

	luaL_argcheck(L, max >= 0 && max < (1 << 30), 2, "max must be 0..2^30");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return fail(L, path, errno, NULL);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		err = errno;
		close(fd);
		return S_ISREG(sb.st_mode)
			   ? fail(L, path, err, NULL)
			   : fail(L, path, EINVAL, "not a regular file");
	}
	/* Read one byte past max to tell "exactly max" from "more". */
	buf = luaL_buffinitsize(L, &b, (size_t)max + 1);
	while (got <= (size_t)max &&
	       (r = read(fd, buf + got, (size_t)max + 1 - got)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			close(fd);
			return fail(L, path, err, NULL);
		}
		got += (size_t)r;
	}
	close(fd);
	if (got > (size_t)max)
		return fail(L, path, EFBIG, "larger than nslab reads");
	luaL_pushresultsize(&b, got);
	lua_createtable(L, 0, 4);
	lua_pushinteger(L, (lua_Integer)sb.st_uid);
	lua_setfield(L, -2, "uid");
	lua_pushboolean(L, sb.st_uid == geteuid());
	lua_setfield(L, -2, "mine");
	lua_pushinteger(L, (lua_Integer)(sb.st_mode & 07777));
	lua_setfield(L, -2, "mode");
	lua_pushinteger(L, (lua_Integer)sb.st_size);
	lua_setfield(L, -2, "size");
	return 2;
}

/*
 * record.readdir(path) -> sorted {name, ...} | nil, message, errno: the
 * entries of a directory ("." and ".." left out), read with readdir(3).
 */
static int l_record_readdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);

	if (nslab_push_dir(L, path) < 0)
		return fail(L, path, errno, NULL);
	return 1;
}

/*
 * record.mkdir(path, mode) -> true | nil, message, errno: makes sure path
 * is a directory (not a symlink) owned by this process's uid and writable
 * by nobody else: created with mode when missing, and mode set again when
 * it is ours but group- or other-writable. EPERM when another uid owns it.
 */
static int l_record_mkdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	mode_t mode = (mode_t)luaL_checkinteger(L, 2) & 0755;
	struct stat sb;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return fail(L, path, errno, NULL);
	if (lstat(path, &sb) < 0)
		return fail(L, path, errno, NULL);
	if (!S_ISDIR(sb.st_mode))
		return fail(L, path, ENOTDIR, "not a directory");
	if (sb.st_uid != geteuid()) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: owned by uid %d, not by uid %d", path,
				(int)sb.st_uid, (int)geteuid());
		lua_pushinteger(L, EPERM);
		return 3;
	}
	if ((sb.st_mode & 022) && chmod(path, mode) < 0)
		return fail(L, path, errno, NULL);
	lua_pushboolean(L, 1);
	return 1;
}

/*
 * The process group (field 5) and start time in clock ticks after boot
 * (field 22) of pid, from /proc/PID/stat. Returns 0, or -1 when there is
 * no such process or it is a zombie (it holds nothing any more).
 */
static int proc_stat(pid_t pid, long long *pgrp, long long *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: fields follow the last ')' */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ' || p[2] == 'Z' ||
	    p[2] == 'X')
		return -1;
	p += 2; /* field 3, the state */
	for (i = 3; i < 22 && p; i++) {
		if (i == 5)
			*pgrp = strtoll(p, NULL, 10);
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return -1;
	*start = strtoll(p, NULL, 10);
	return 0;
}

/*
 * record.kill_group(pid, start[, signal]) -> integer: signals (default
 * SIGKILL) the process pid, and its whole process group when it leads
 * one, only while pid is the process that started at start (clock ticks
 * after boot, field 22 of /proc/PID/stat): a pidfd is opened first and
 * checked to be alive after the check, so a pid reused meanwhile is never
 * hit. Returns 1 when it was signalled, 0 when no such process runs any
 * more. Never signals pid 1, group 1, 0 or -1, nor nslab itself or its own
 * process group: those raise EPERM.
 */
static int l_record_kill_group(lua_State *L)
{
	static const char *const names[] = {"SIGKILL", "SIGTERM", NULL};
	static const int sigs[] = {SIGKILL, SIGTERM};
	lua_Integer pid = luaL_checkinteger(L, 1);
	lua_Integer start = luaL_checkinteger(L, 2);
	int sig = sigs[luaL_checkoption(L, 3, "SIGKILL", names)];
	long long pgrp = 0, now = -1;
	int fd, hit = 0;

	if (pid <= 1 || pid > 0x3fffffff || pid == getpid() ||
	    pid == getpgrp()) {
		lua_pushfstring(L, "pid %I", pid);
		return nslab_raise(L, "record.kill_group", lua_tostring(L, -1),
				   NULL, EPERM,
				   "never signalled (pid 1, 0, -1 or nslab)");
	}
	fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (fd < 0) {
		lua_pushinteger(L, 0);
		return 1;
	}
	/* The pidfd is alive after the check: it is the checked process. */
	if (proc_stat((pid_t)pid, &pgrp, &now) == 0 && now == start &&
	    syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) == 0) {
		if (pgrp == pid && pgrp != getpgrp() &&
		    kill(-(pid_t)pgrp, sig) == 0)
			hit = 1;
		if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) == 0)
			hit = 1;
	}
	close(fd);
	lua_pushinteger(L, hit);
	return 1;
}

/*
 * record.locked(path, fn, ...) -> what fn returns | nil, message, errno:
 * runs fn(...) holding an exclusive flock(2) on the file at path, waiting
 * for it (EINTR retried). A record is replaced by rename(2) and removed by
 * its owner: after the lock is held, path must still name the file locked
 * (same st_dev and st_ino), else ESTALE (ENOENT when it is gone), fn not
 * run. The lock is released (its fd closed) before fn's error, if any,
 * is raised again. Locks of one process on two opens of one file exclude
 * each other as well: callers never nest them.
 */
static int l_record_locked(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat held, now;
	int fd, err, status;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return fail(L, path, errno, NULL);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			err = errno;
			close(fd);
			return fail(L, path, err, NULL);
		}
	}
	if (fstat(fd, &held) < 0 || stat(path, &now) < 0 ||
	    held.st_dev != now.st_dev || held.st_ino != now.st_ino) {
		err = errno == ENOENT ? ENOENT : ESTALE;
		close(fd);
		return fail(L, path, err,
			    "the record was replaced or removed meanwhile");
	}
	lua_remove(L, 1);
	status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
	close(fd);
	if (status != LUA_OK)
		return lua_error(L);
	return lua_gettop(L);
}

static const luaL_Reg funcs[] = {
    {"open", l_record_open},
    {"read", l_record_read},
    {"readdir", l_record_readdir},
    {"mkdir", l_record_mkdir},
    {"kill_group", l_record_kill_group},
    {"locked", l_record_locked},
    {NULL, NULL},
};

void nslab_open_record(lua_State *L)
{
	nslab_newlib(L, "record", funcs);
}
