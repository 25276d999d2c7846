/*
 * command.c - lab commands: "nslab --VERB ARGS...", where VERB acts on
 * labs from another shell (inspect, attach, export, ...). The rest of
 * the command line after --VERB belongs to the verb; nslab's own options
 * (-I, -E, --rootless, --keep) may come before it. Each verb is a Lua
 * module, nslab.cli_VERB, whose main(args) parses its arguments and
 * returns an exit status, or "interactive" to leave the REPL running
 * with the globals it set (nslab --attach). The table below is the one
 * place a verb is named in C, with its synopsis for --help.
 */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "host/command.h"
#include "host/host.h"

/* { verb, synopsis } in the order --help lists them. */
static const struct command_def commands[] = {
    {"inspect", "[NAME] [--json]  labs (or lab NAME) as a table or JSON"},
    {"graph", "NAME [--format dot|mermaid|svg]  lab NAME's topology"},
    {"attach", "NAME  a REPL on lab NAME (kept or running): lab, its nodes"},
    {"test", "SCRIPT [ARGS...]  run a lab script's checks: a PASS/FAIL line "
	     "each, exit 0 when all pass"},
    {"events", "NAME [--timeout S] [--groups G,...]  print the lab's "
	       "rtnetlink events as JSON lines"},
    {"capture", "NAME NODE IFNAME [FILTER...]  stream pcap from a node's "
		"interface to stdout (| tcpdump -r -)"},
    {"export", "NAME  a Lua script that builds lab NAME again (to stdout)"},
    {"apply", "NAME FILE [--dry-run]  bring kept lab NAME to FILE's spec"},
    {NULL, NULL},
};

const struct command_def *command_table(void)
{
	return commands;
}

const char *command_lookup(const char *arg)
{
	if (!arg || strncmp(arg, "--", 2) != 0)
		return NULL;
	for (const struct command_def *c = commands; c->verb; c++)
		if (strcmp(arg + 2, c->verb) == 0)
			return c->verb;
	return NULL;
}

void command_usage(FILE *f)
{
	if (!commands[0].verb)
		return;
	fputs("Lab commands, on kept or running labs (the rest of the line "
	      "is the command's;\n-I, -E, --keep, --rootless may come before; "
	      "-e, -l, -W, -i and a script\nare not run with one):\n",
	      f);
	for (const struct command_def *c = commands; c->verb; c++)
		fprintf(f, "  --%s %s\n", c->verb, c->synopsis);
}

int command_run(lua_State *L, const char *verb, int argc, char **argv)
{
	int status;

	lua_getglobal(L, "require");
	lua_pushfstring(L, "nslab.cli_%s", verb);
	if (host_report(L, host_docall(L, 1, 1)) != LUA_OK)
		return COMMAND_FAILED;
	lua_getfield(L, -1, "main");
	lua_remove(L, -2);
	lua_createtable(L, argc, 0);
	for (int i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i + 1);
	}
	/* A refusal (no such lab, a bad argument) is the user's answer:
	 * its one line, without a traceback, as for --clean. */
	status = lua_pcall(L, 1, 1, 0);
	if (status != LUA_OK) {
		host_message(luaL_tolstring(L, -1, NULL));
		lua_pop(L, 2);
		return COMMAND_FAILED;
	}
	if (lua_type(L, -1) == LUA_TSTRING &&
	    strcmp(lua_tostring(L, -1), "interactive") == 0)
		status = COMMAND_INTERACTIVE;
	else if (lua_isinteger(L, -1))
		status = (int)lua_tointeger(L, -1);
	else
		status = lua_toboolean(L, -1) ? 0 : COMMAND_FAILED;
	lua_pop(L, 1);
	return status;
}
