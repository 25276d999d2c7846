/*
 * repl.c - the interactive loop, shaped like lua.c's doREPL: each line is
 * tried as "return <line>;" first, then as a statement; a syntax error
 * ending in <eof> reads on at the secondary prompt ">> ". Results print
 * through the global print, plain tables as a short summary (repl_print.c).
 * Before that, lua/nslab/repl.lua (through repl_node.c) is asked whether
 * the line is a node command ("red ping -c1 blue": a node of an open lab,
 * a blank, a shell command; Mininet's CLI habit) and runs it if so.
 *
 * Lines come from libedit on a terminal (editing, history kept in
 * ~/.nslab_history, Tab completion from repl_complete.c), else from stdio.
 * Ctrl-C only sets main.c's flag: while reading, read() fails with EINTR
 * and the line is dropped; while running, main.c's signal hook raises
 * "interrupted (SIGINT)" and the loop goes on. SIGTERM and SIGHUP end the
 * loop, and main.c closes the state (labs clean up) and dies of them.
 * Read: lua(1), editline(3), signal(7).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#ifdef NSLAB_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include "host/host.h"
#include "host/repl.h"

#define EOFMARK	     "<eof>"
#define HISTORY_FILE ".nslab_history"
#define HISTORY_MAX  1000

enum { LINE_OK, LINE_EOF, LINE_INTR };

/* The terminal side of the loop: one per process, like the terminal. */
static struct {
	int edit;	/* libedit reads the lines */
	char *histfile; /* malloc'd path, or NULL */
	int histfd;	/* the history file, opened once without following
			   a symlink; histfile is then /proc/self/fd/N */
} term = {0, NULL, -1};

static const char help_text[] =
    "nslab: Lua 5.4 with the nslab module (global nslab).\n"
    "  EXPRESSION            prints its value:  1+1   nslab.netns.list()\n"
    "  STATEMENT             runs it; an unfinished one goes on at '>> '\n"
    "  NODE COMMAND [ARGS]   runs the command in that node's netns (sh -c),\n"
    "                        node names in ARGS become their first address:\n"
    "                        red ping -c1 blue   blue ip -br addr\n"
    "  help                  this text\n"
    "  exit, quit, Ctrl-D    leave (open labs are closed and cleaned up)\n"
    "Tab completes globals, fields and methods (red:pi -> red:ping).\n"
    "Ctrl-C drops the line being typed or interrupts what runs.\n"
    "Modules: nslab.netns link addr route sysctl exec sh spawn lab.\n";

/* Whether SIGTERM or SIGHUP asked the host to end. */
static int must_leave(void)
{
	int sig = host_pending_signal();

	return sig == SIGTERM || sig == SIGHUP;
}

/* Prints an error message the way lua's REPL does (no program name). */
static void repl_report(lua_State *L, int status)
{
	if (status != LUA_OK) {
		const char *msg = lua_tostring(L, -1);

		fprintf(stderr, "%s\n", msg ? msg : "(error object)");
		fflush(stderr);
		lua_pop(L, 1);
	}
}

#ifdef NSLAB_HAVE_LIBEDIT
/*
 * Opens ~/.nslab_history once, O_NOFOLLOW: a symlink planted there (by
 * whoever can write $HOME) would have root's history written into, and
 * chmod'ed, any file it points at. Something other than a regular file of
 * our own is skipped with a message and the session keeps no history.
 * libedit then reads and writes through /proc/self/fd/N, which is that
 * file whatever is renamed over the path meanwhile.
 */
static void history_open(void)
{
	const char *home = getenv("HOME"), *why = NULL;
	char *path = NULL;
	struct stat sb;
	int fd;

	using_history();
	stifle_history(HISTORY_MAX);
	if (!home || !*home || asprintf(&path, "%s/" HISTORY_FILE, home) < 0)
		return;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		why = errno == ELOOP ? "is a symlink" : strerror(errno);
	else if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		why = "is not a regular file";
	else if (sb.st_uid != geteuid())
		why = "belongs to another user";
	else if (asprintf(&term.histfile, "/proc/self/fd/%d", fd) < 0)
		term.histfile = NULL, why = "out of memory";
	if (why) {
		fprintf(stderr, "nslab: %s %s: history not kept\n", path, why);
		if (fd >= 0)
			close(fd);
		free(path);
		return;
	}
	free(path);
	term.histfd = fd;
	read_history(term.histfile);
}
#endif

/* Keeps a complete statement in the history (and its file, at once, so a
 * killed session keeps what was typed). */
static void history_add(const char *line)
{
#ifdef NSLAB_HAVE_LIBEDIT
	if (!term.edit || !*line)
		return;
	add_history(line);
	if (term.histfile)
		write_history(term.histfile);
#else
	(void)line;
#endif
}

static void term_open(lua_State *L)
{
	term.edit = 0;
#ifdef NSLAB_HAVE_LIBEDIT
	if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
		term.edit = 1;
		rl_readline_name = "nslab";
		/* main.c's handlers stay: libedit must not install its own. */
		rl_catch_signals = 0;
		repl_complete_init(L);
		history_open();
	}
#else
	(void)L;
#endif
}

static void term_close(void)
{
	free(term.histfile);
	term.histfile = NULL;
	if (term.histfd >= 0)
		close(term.histfd);
	term.histfd = -1;
}

/*
 * Reads one line (without its newline) onto the stack. Returns LINE_OK,
 * LINE_EOF (end of input, or SIGTERM/SIGHUP) or LINE_INTR (Ctrl-C: the
 * line is dropped). A Ctrl-C that arrives while reading, even one that
 * did not interrupt read(), drops the line.
 */
static int read_line(lua_State *L, const char *prompt)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

#ifdef NSLAB_HAVE_LIBEDIT
	if (term.edit) {
		line = readline(prompt);
		len = line ? (ssize_t)strlen(line) : -1;
	} else
#endif
	{
		fputs(prompt, stdout);
		fflush(stdout);
		errno = 0;
		len = getline(&line, &cap, stdin);
		if (len < 0 && errno == EINTR)
			clearerr(stdin);
	}
	if (must_leave() || (len < 0 && host_pending_signal() != SIGINT)) {
		free(line);
		return LINE_EOF;
	}
	if (host_pending_signal() == SIGINT) {
		free(line);
		fputs("\n", stdout);
		fflush(stdout);
		host_clear_signal();
		return LINE_INTR;
	}
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	lua_pushlstring(L, line, (size_t)len);
	free(line);
	return LINE_OK;
}

/* _PROMPT / _PROMPT2 when they hold strings, as in lua(1). */
static const char *prompt(lua_State *L, int first)
{
	const char *p = first ? "> " : ">> ";

	if (lua_getglobal(L, first ? "_PROMPT" : "_PROMPT2") == LUA_TSTRING)
		p = lua_tostring(L, -1);
	lua_pop(L, 1); /* the string stays alive in the global */
	return p;
}

/* Pops the message of a syntax error that only lacks more input. */
static int incomplete(lua_State *L, int status)
{
	size_t lmsg;
	const char *msg;

	if (status != LUA_ERRSYNTAX)
		return 0;
	msg = lua_tolstring(L, -1, &lmsg);
	if (lmsg >= sizeof(EOFMARK) - 1 &&
	    strcmp(msg + lmsg - (sizeof(EOFMARK) - 1), EOFMARK) == 0) {
		lua_pop(L, 1);
		return 1;
	}
	return 0;
}

/* Tries "return <line>;": stack [line] -> [function] (LUA_OK) or [line]. */
static int add_return(lua_State *L)
{
	const char *line = lua_tostring(L, 1);
	const char *code = lua_pushfstring(L, "return %s;", line);
	int status = luaL_loadbuffer(L, code, strlen(code), "=stdin");

	if (status == LUA_OK) {
		history_add(line);
		lua_remove(L, -2);
		lua_remove(L, 1);
	} else {
		lua_pop(L, 2);
	}
	return status;
}

/*
 * REPL words, recognised only when the line is that word alone and no
 * global of that name exists (so a script's own help() still wins).
 * Returns 1 to go on, 0 to leave, -1 when the line is not a word.
 */
static int repl_word(lua_State *L, const char *line)
{
	char word[8];
	size_t n;
	int known;

	while (isspace((unsigned char)*line))
		line++;
	n = strcspn(line, " \t");
	if (n >= sizeof(word) || line[n + strspn(line + n, " \t")] != '\0')
		return -1;
	memcpy(word, line, n);
	word[n] = '\0';
	if (strcmp(word, "help") != 0 && strcmp(word, "exit") != 0 &&
	    strcmp(word, "quit") != 0)
		return -1;
	known = lua_getglobal(L, word) != LUA_TNIL;
	lua_pop(L, 1);
	if (known)
		return -1;
	history_add(word);
	if (word[0] != 'h')
		return 0;
	fputs(help_text, stdout);
	repl_show_labs(L);
	fflush(stdout);
	return 1;
}

/*
 * Reads a statement: the first line (already on the stack) and as many
 * continuation lines as an <eof> syntax error asks for. Leaves the
 * compiled function (LUA_OK), or the error message; or returns LINE_EOF /
 * LINE_INTR + 100 when input ended or Ctrl-C dropped the statement.
 */
#define READ_EOF  (100 + LINE_EOF)
#define READ_INTR (100 + LINE_INTR)

static int read_statement(lua_State *L)
{
	for (;;) {
		size_t len;
		const char *code = lua_tolstring(L, 1, &len);
		int status = luaL_loadbuffer(L, code, len, "=stdin");
		int r;

		if (!incomplete(L, status)) {
			history_add(code);
			lua_remove(L, 1);
			return status;
		}
		r = read_line(L, prompt(L, 0));
		if (r != LINE_OK)
			return 100 + r;
		lua_pushliteral(L, "\n");
		lua_insert(L, -2);
		lua_concat(L, 3);
	}
}

/* One turn: read, compile, run, print. Returns 0 when input ended. */
static int repl_turn(lua_State *L)
{
	int status, r;

	r = read_line(L, prompt(L, 1));
	if (r != LINE_OK)
		return r == LINE_INTR;
	r = repl_word(L, lua_tostring(L, 1));
	if (r >= 0)
		return r;
	/* "red /bin/hostname" would parse as Lua: a node's name first. */
	if (repl_node_command(L, lua_tostring(L, 1))) {
		history_add(lua_tostring(L, 1));
		return 1;
	}
	/* "=expr" means "return expr", as lua 5.4 still accepts */
	if (lua_tostring(L, 1)[0] == '=') {
		lua_pushfstring(L, "return %s", lua_tostring(L, 1) + 1);
		lua_replace(L, 1);
	}
	status = add_return(L);
	if (status != LUA_OK) {
		status = read_statement(L);
		if (status == READ_EOF)
			return 0;
		if (status == READ_INTR)
			return 1;
	}
	if (status == LUA_OK)
		status = host_docall(L, 0, LUA_MULTRET);
	if (status == LUA_OK)
		repl_print(L);
	else
		repl_report(L, status);
	return 1;
}

/* Makes the module handy at the prompt, as global nslab. */
static void global_nslab(lua_State *L)
{
	if (lua_getglobal(L, "nslab") == LUA_TNIL) {
		lua_getglobal(L, "require");
		lua_pushliteral(L, "nslab");
		if (lua_pcall(L, 1, 1, 0) == LUA_OK)
			lua_setglobal(L, "nslab");
		else
			repl_report(L, LUA_ERRRUN);
	}
	lua_pop(L, 1);
}

void repl_run(lua_State *L)
{
	int go_on = 1;

	term_open(L);
	global_nslab(L);
	repl_node_open(L);
	/* From here a <close> lab closes at its scope's end (see main.c). */
	lua_pushnil(L);
	lua_setglobal(L, "NSLAB_INTERACTIVE");
	while (go_on && !must_leave()) {
		host_clear_signal();
		lua_settop(L, 0);
		repl_node_globals(L);
		go_on = repl_turn(L);
	}
	lua_settop(L, 0);
	if (!must_leave()) {
		fputs("\n", stdout);
		fflush(stdout);
	}
	term_close();
}
