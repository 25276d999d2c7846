/*
 * command.h - lab commands, "nslab --VERB ARGS..." (command.c).
 */
#ifndef NSLAB_COMMAND_H
#define NSLAB_COMMAND_H

#include <stdio.h>

#include <lua.h>

struct command_def {
	const char *verb;     /* without the leading "--" */
	const char *synopsis; /* its arguments, for --help */
};

/* command_run's results besides an exit status 0..125. */
#define COMMAND_FAILED	    1
#define COMMAND_INTERACTIVE (-1)

/* The verbs, ended by a { NULL, NULL } entry. */
const struct command_def *command_table(void);

/* The verb when arg is "--VERB" for a known verb, else NULL. */
const char *command_lookup(const char *arg);

/* Prints the verbs and their synopses (nothing when there are none). */
void command_usage(FILE *f);

/*
 * Runs verb through require("nslab.cli_" .. verb).main(args), args the
 * argc strings of argv. Returns its exit status, COMMAND_INTERACTIVE when
 * it asked for the REPL, COMMAND_FAILED after printing why it failed.
 */
int command_run(lua_State *L, const char *verb, int argc, char **argv);

#endif
