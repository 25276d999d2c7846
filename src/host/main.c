/*
 * main.c - the nslab host: a Lua 5.4 interpreter with the nslab module
 * built in. Options and behaviour follow the standalone lua(1): script and
 * arguments, -e, -l, -i, -v, -E, -, --; plus -I DIR and NSLAB_PATH for the
 * Lua search path.
 * Shaped like lua.c: options, path, script, REPL; the search path and
 * the embedded library are path.c's, the shared machinery (signals,
 * docall, reporting) is in host.c. Read: lua(1).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "host/command.h"
#include "host/host.h"
#include "host/path.h"
#include "host/pidns.h"
#include "host/repl.h"
#include "host/rootless.h"
#include "nslab.h"

static void print_version(void)
{
	printf("nslab " NSLAB_VERSION "  " LUA_COPYRIGHT "\n");
	fflush(stdout);
}

static void print_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: %s [options] [script [args]]\n"
	    "Available options are:\n"
	    "  -e stat   execute string 'stat'\n"
	    "  -i        enter interactive mode after executing 'script'\n"
	    "  -l mod    require library 'mod' into global 'mod'\n"
	    "  -l g=mod  require library 'mod' into global 'g'\n"
	    "  -I dir    add dir to the Lua search path (repeatable)\n"
	    "  -v        show version information\n"
	    "  -E        ignore environment variables\n"
	    "  -W        turn warnings on\n"
	    "  --keep    leave labs running when the script ends\n"
	    "  --clean [NAME]  remove what dead labs left behind\n"
	    "  --rootless      run inside a new user namespace\n"
	    "  --sandbox CMD [ARGS]  run CMD in private net, mount and PID\n"
	    "                  namespaces (what make check uses)\n"
	    "  -h, --help      show this help\n"
	    "  --        stop handling options\n"
	    "  -         stop handling options and execute stdin\n",
	    host_progname);
	command_usage(f);
	fprintf(
	    f, "Environment: NSLAB_PATH (';'-separated like LUA_PATH),\n"
	       "LUA_INIT_5_4 / LUA_INIT, LUA_PATH, LUA_CPATH.\n"
	       "With no script and no -e: the REPL on a terminal, else stdin.\n"
	       "See nslab(1).\n");
}

/*
 * Global arg as lua.c makes it: arg[0] = the script (or, with no script,
 * the program), arg[1..] its arguments, negative indices the interpreter
 * and its options.
 */
static void create_arg(lua_State *L, char **argv, int argc, int script)
{
	lua_createtable(L, argc > script ? argc - script - 1 : 0, script + 1);
	for (int i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - script);
	}
	lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status)
{
	if (status == LUA_OK)
		status = host_docall(L, 0, 0);
	return host_report(L, status);
}

static int dolibrary(lua_State *L, char *globname)
{
	char *modname = strchr(globname, '=');
	int status;

	if (modname)
		*modname++ = 0;
	else
		modname = globname;
	lua_getglobal(L, "require");
	lua_pushstring(L, modname);
	status = host_docall(L, 1, 1);
	if (status == LUA_OK)
		lua_setglobal(L, globname);
	return host_report(L, status);
}

static int handle_luainit(lua_State *L)
{
	const char *name = "=LUA_INIT_5_4";
	const char *init = getenv(name + 1);

	if (!init) {
		name = "=LUA_INIT";
		init = getenv(name + 1);
	}
	if (!init)
		return LUA_OK;
	if (init[0] == '@')
		return dochunk(L, luaL_loadfile(L, init + 1));
	return dochunk(L, luaL_loadbuffer(L, init, strlen(init), name));
}

static int handle_script(lua_State *L, char **argv, int argc, int script)
{
	const char *fname = argv[script];
	int status, n;

	if (strcmp(fname, "-") == 0 && strcmp(argv[script - 1], "--") != 0)
		fname = NULL; /* stdin */
	status = luaL_loadfile(L, fname);
	if (status == LUA_OK) {
		n = argc - script - 1;
		luaL_checkstack(L, n + 3, "too many arguments to script");
		for (int i = script + 1; i < argc; i++)
			lua_pushstring(L, argv[i]);
		status = host_docall(L, n, LUA_MULTRET);
	}
	return host_report(L, status);
}

struct op {
	char kind; /* 'e', 'l' or 'W' */
	char *val;
};

struct cli {
	int interactive, version, noenv, keep, clean, rootless, has_e;
	const char *clean_name;
	const char *command; /* --VERB (command.c), or NULL */
	int command_arg;     /* argv index after --VERB */
	int command_status;  /* its exit status */
	int script;	     /* argv index of the script, 0 = none */
	char **incs;
	int nincs;
	struct op *ops;
	int nops;
};

/* Runs "--clean [NAME]" through nslab.clean. */
static int do_clean(lua_State *L, const char *name)
{
	lua_getglobal(L, "require");
	lua_pushliteral(L, "nslab.clean");
	if (host_report(L, host_docall(L, 1, 1)) != LUA_OK)
		return 1;
	lua_getfield(L, -1, "clean");
	if (name)
		lua_pushstring(L, name);
	else
		lua_pushnil(L);
	/* A refusal (no such lab, a running one) is the user's answer, not
	 * a program error: its one line, without a traceback. */
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		host_message(luaL_tolstring(L, -1, NULL));
		lua_pop(L, 2);
		return 1;
	}
	return 0;
}

/* The globals lab.lua reads: NSLAB_ROOTLESS (--rootless), NSLAB_KEEP
 * (--keep). */
static void set_lab_globals(lua_State *L, const struct cli *cli)
{
	/* Rootless, labs live in nslab's own user and network namespaces,
	 * which end with it: nothing can be kept (lab.lua says so too). */
	if (cli->rootless) {
		lua_pushboolean(L, 1);
		lua_setglobal(L, "NSLAB_ROOTLESS");
	}
	if (cli->keep && cli->rootless) {
		host_message(
		    "--keep: nothing can be kept in rootless mode (the "
		    "labs' namespaces end with nslab's own user "
		    "namespace): labs are removed when it ends");
	} else if (cli->keep) {
		lua_pushboolean(L, 1);
		lua_setglobal(L, "NSLAB_KEEP");
	}
}

static int pmain(lua_State *L)
{
	int argc = (int)lua_tointeger(L, 1);
	char **argv = lua_touserdata(L, 2);
	struct cli *cli = lua_touserdata(L, 3);
	int status = LUA_OK;

	luaL_checkversion(L);
	if (cli->noenv) {
		lua_pushboolean(L, 1);
		lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
	}
	luaL_openlibs(L);
	host_wrap_os(L);
	path_preload_nslab(L);
	path_set(L, cli->incs, cli->nincs, cli->noenv, cli->version);
	create_arg(L, argv, argc, cli->script);
	lua_gc(L, LUA_GCRESTART);
	lua_gc(L, LUA_GCGEN, 0, 0);
	host_watch_signals(L);
	if (cli->version)
		print_version();
	set_lab_globals(L, cli);
	if (!cli->noenv && handle_luainit(L) != LUA_OK)
		return 0;
	if (cli->clean) {
		lua_pushboolean(L, do_clean(L, cli->clean_name) == 0);
		return 1;
	}
	if (cli->command) {
		status = command_run(L, cli->command, argc - cli->command_arg,
				     argv + cli->command_arg);
		if (status == COMMAND_INTERACTIVE) {
			repl_run(L);
			status = 0;
		}
		cli->command_status = status;
		lua_pushboolean(L, 1);
		return 1;
	}
	/* -e, -l and -W, in the order given */
	for (int i = 0; i < cli->nops; i++) {
		const char *v = cli->ops[i].val;

		if (cli->ops[i].kind == 'e')
			status = dochunk(L, luaL_loadbuffer(L, v, strlen(v),
							    "=(command line)"));
		else if (cli->ops[i].kind == 'l')
			status = dolibrary(L, cli->ops[i].val);
		else
			lua_warning(L, "@on", 0);
		if (status != LUA_OK)
			return 0;
	}
	/* -i: a lab whose <close> scope ends normally in the script stays
	 * open for the REPL (lab.lua); repl_run clears the flag. */
	if (cli->interactive && cli->script) {
		lua_pushboolean(L, 1);
		lua_setglobal(L, "NSLAB_INTERACTIVE");
	}
	if (cli->script && handle_script(L, argv, argc, cli->script) != LUA_OK)
		return 0;
	if (cli->interactive) {
		repl_run(L);
	} else if (!cli->script && !cli->version && !cli->has_e) {
		if (isatty(0)) {
			print_version();
			repl_run(L);
		} else if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK) {
			return 0;
		}
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* Says what was wrong with the option getopt_long just refused, then the
 * usage; returns 1 (lua's EXIT_FAILURE). */
static int bad_option(char **argv)
{
	if (optopt && strchr("elI", optopt))
		fprintf(stderr, "%s: '-%c' needs argument\n", host_progname,
			optopt);
	else
		fprintf(stderr, "%s: unrecognized option '%s'\n", host_progname,
			argv[optind - 1]);
	print_usage(stderr);
	return 1;
}

/* What follows the options, from optind: --clean's one NAME, or the
 * script and its arguments. Returns 0, or 1 after saying what is wrong. */
static int parse_operands(int argc, char **argv, struct cli *cli)
{
	if (cli->clean) {
		if (optind < argc)
			cli->clean_name = argv[optind++];
		if (optind < argc) {
			fprintf(stderr, "%s: --clean takes at most one name\n",
				host_progname);
			return 1;
		}
		return 0;
	}
	if (optind < argc)
		cli->script = optind;
	return 0;
}

/*
 * Parses the command line as lua.c does (options end at the script, "-"
 * or "--"; -i implies -v; -e and -l want an argument not starting with
 * '-'); returns 0, or 1 (lua's EXIT_FAILURE) after printing the usage.
 */
static int parse(int argc, char **argv, struct cli *cli)
{
	static const struct option longs[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'v'},
	    {"keep", no_argument, NULL, 'K'},
	    {"clean", no_argument, NULL, 'C'},
	    {"rootless", no_argument, NULL, 'R'},
	    {"sandbox", no_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+e:l:I:ivEWh", longs, NULL)) !=
	       -1) {
		/* "-e -x": lua takes -x for another option, not the chunk */
		if (optarg && optarg == argv[optind - 1] && optarg[0] == '-') {
			optopt = c;
			c = '?';
		}
		switch (c) {
		case 'e':
			cli->has_e = 1;
			/* fallthrough */
		case 'l':
		case 'W':
			cli->ops[cli->nops].kind = (char)c;
			cli->ops[cli->nops++].val = optarg;
			break;
		case 'I':
			cli->incs[cli->nincs++] = optarg;
			break;
		case 'i':
			cli->interactive = 1;
			cli->version = 1;
			break;
		case 'v':
			cli->version = 1;
			break;
		case 'E':
			cli->noenv = 1;
			break;
		case 'K':
			cli->keep = 1;
			break;
		case 'C':
			cli->clean = 1;
			break;
		case 'R':
			cli->rootless = 1;
			break;
		case 'S': /* tools/sandbox.sh */
			exit(rootless_sandbox(argv + optind));
		case 'h':
			print_usage(stdout);
			exit(EXIT_SUCCESS);
		default:
			/* "--VERB": a lab command takes the rest of the line */
			cli->command =
			    optopt ? NULL : command_lookup(argv[optind - 1]);
			if (!cli->command)
				return bad_option(argv);
			cli->command_arg = optind;
			return 0;
		}
	}
	return parse_operands(argc, argv, cli);
}

/* Everything after the allocation of cli's arrays; returns the exit
 * status, or dies of the signal that interrupted the script. */
static int run(int argc, char **argv, struct cli *cli)
{
	lua_State *L;
	int status, ok, sig;

	status = parse(argc, argv, cli);
	if (status)
		return status;
	if (rootless_setup(&cli->rootless, cli->noenv) != 0)
		return EXIT_FAILURE;
	host_install_signals();
	L = luaL_newstate();
	if (!L) {
		host_message("cannot create state: not enough memory");
		return EXIT_FAILURE;
	}
	lua_pushcfunction(L, pmain);
	lua_pushinteger(L, argc);
	lua_pushlightuserdata(L, argv);
	lua_pushlightuserdata(L, cli);
	status = lua_pcall(L, 3, 1, 0);
	ok = lua_toboolean(L, -1);
	host_report(L, status);
	/* Closing the state closes labs held in globals and kills
	 * spawned processes (their __gc), signal or not. */
	sig = host_take_exit_signal();
	host_watch_signals(NULL);
	lua_close(L);
	if (!sig) /* came while the labs were closing */
		sig = host_take_exit_signal();
	if (sig) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
	if (!ok || status != LUA_OK)
		return EXIT_FAILURE;
	return cli->command ? cli->command_status : EXIT_SUCCESS;
}

/*
 * nslab runs Lua scripts, os.execute included, with the kernel's namespace
 * and mount powers: installed setuid or setgid, or with file capabilities,
 * it would hand all of that to every user who can run it. The kernel says
 * so through AT_SECURE (getauxval(3), also set under an LSM transition);
 * refuse before anything else, even reading the environment.
 */
static int insecure_install(void)
{
	if (!getauxval(AT_SECURE))
		return 0;
	fputs("nslab: refusing to run setuid, setgid or with file "
	      "capabilities (AT_SECURE is set): it runs any Lua and any "
	      "command with the privileges it got. Install it as an "
	      "ordinary program (chmod u-s,g-s; setcap -r) and run it as "
	      "root (sudo) or without root (nslab --rootless)\n",
	      stderr);
	return 1;
}

int main(int argc, char **argv)
{
	struct cli cli;
	int status = EXIT_FAILURE;

	if (insecure_install())
		return 126;
	if (pidns_pid1() != 0)
		return EXIT_FAILURE;
	if (argv[0] && argv[0][0])
		host_progname = argv[0];
	memset(&cli, 0, sizeof(cli));
	cli.ops = calloc((size_t)argc + 1, sizeof(*cli.ops));
	cli.incs = calloc((size_t)argc + 1, sizeof(*cli.incs));
	if (cli.ops && cli.incs)
		status = run(argc, argv, &cli);
	else
		host_message("cannot allocate memory");
	free(cli.ops);
	free(cli.incs);
	return status;
}
