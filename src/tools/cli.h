/* The command line: the subcommand table, each subcommand's options and
 * its --help, parsed the same way for all. */
#ifndef KC_CLI_H
#define KC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tools/module.h"
#include "tools/slots.h"

/* Options a subcommand may accept. */
enum kc_opt {
	KC_OPT_TIMEOUT = 1 << 0,
	KC_OPT_PIN_FD = 1 << 1,
	KC_OPT_JSON = 1 << 2,
	KC_OPT_CA = 1 << 3,
	KC_OPT_CRL = 1 << 4,
	KC_OPT_KEY = 1 << 5,
	KC_OPT_OUT = 1 << 6,
	KC_OPT_PEM = 1 << 7,
};

typedef struct kc_opts {
	const char *module;
	double timeout; /* seconds; < 0: wait as long as it takes */
	int pin_fd;     /* < 0: ask on the terminal */
	bool json;
	char **ca;
	size_t nca;
	char **crl;
	size_t ncrl;
	kc_kind key; /* --key, or change-pin's argument */
	bool key_set;
	const char *out;
	bool pem;
	char **args; /* operands after the options */
	int nargs;
} kc_opts;

typedef struct kc_command {
	const char *name;
	unsigned options; /* enum kc_opt bits */
	int min_args, max_args;
	const char *synopsis; /* after "kazashi NAME " */
	const char *brief;    /* one line, for the overview */
	const char *summary;  /* a paragraph, for --help */
	const char *help;     /* the options and what the command does */
	int (*run)(kc_module *m, const kc_opts *o);
} kc_command;

/* Parses ARGV (ARGV[0] is the subcommand) into O. Returns -1 when the
 * command is to run, else the exit status to leave with (0 after --help). */
int kc_cli_parse(const kc_command *c, int argc, char **argv, kc_opts *o);

/* Frees what kc_cli_parse allocated. */
void kc_cli_free(kc_opts *o);

void kc_cli_help(const kc_command *c, FILE *out);

/* "auth" / "sign" -> kind; false for anything else. */
bool kc_cli_kind(const char *word, kc_kind *kind);

#endif
