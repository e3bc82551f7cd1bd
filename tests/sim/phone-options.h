/* The options both simulator programs (kazashi-phone-sim behind vpcd,
 * kazashi-pn532-sim behind an emulated PN532) take for the phone itself:
 * --persona --pki --auth-pin --sign-pin --auth-tries --sign-tries
 * --leave-at --cert-ef-size --log --kbps --taps --tap-gap-ms --help.
 * Each program lists PHONE_LONG_OPTIONS in its getopt table, numbers its
 * own options from PHONE_OPT_END, and parses them in a callback. */
#ifndef KAZASHI_SIM_PHONE_OPTIONS_H
#define KAZASHI_SIM_PHONE_OPTIONS_H

#include "phone.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct phone_options {
	sim_config cfg;       /* cfg.log: the --log file once opened */
	unsigned long taps;   /* 0 = forever */
	unsigned long gap_ms; /* out of the field between taps */
	const char *log_path;
} phone_options;

enum {
	PHONE_OPT_PERSONA = 256,
	PHONE_OPT_PKI,
	PHONE_OPT_AUTH_PIN,
	PHONE_OPT_SIGN_PIN,
	PHONE_OPT_AUTH_TRIES,
	PHONE_OPT_SIGN_TRIES,
	PHONE_OPT_LEAVE_AT,
	PHONE_OPT_EF_SIZE,
	PHONE_OPT_LOG,
	PHONE_OPT_KBPS,
	PHONE_OPT_TAPS,
	PHONE_OPT_GAP,
	PHONE_OPT_HELP,
	PHONE_OPT_END, /* a program's own options from here */
};

#define PHONE_LONG_OPTIONS                                                                         \
	{"persona", required_argument, NULL, PHONE_OPT_PERSONA},                                   \
	    {"pki", required_argument, NULL, PHONE_OPT_PKI},                                       \
	    {"auth-pin", required_argument, NULL, PHONE_OPT_AUTH_PIN},                             \
	    {"sign-pin", required_argument, NULL, PHONE_OPT_SIGN_PIN},                             \
	    {"auth-tries", required_argument, NULL, PHONE_OPT_AUTH_TRIES},                         \
	    {"sign-tries", required_argument, NULL, PHONE_OPT_SIGN_TRIES},                         \
	    {"leave-at", required_argument, NULL, PHONE_OPT_LEAVE_AT},                             \
	    {"cert-ef-size", required_argument, NULL, PHONE_OPT_EF_SIZE},                          \
	    {"log", required_argument, NULL, PHONE_OPT_LOG},                                       \
	    {"kbps", required_argument, NULL, PHONE_OPT_KBPS},                                     \
	    {"taps", required_argument, NULL, PHONE_OPT_TAPS},                                     \
	    {"tap-gap-ms", required_argument, NULL, PHONE_OPT_GAP},                                \
	{                                                                                          \
		"help", no_argument, NULL, PHONE_OPT_HELP                                          \
	}

/* What a program adds: its name for messages, its getopt table (with
 * PHONE_LONG_OPTIONS), its usage, and its own options, which `own` takes
 * (false: a bad value for it). */
typedef struct phone_program {
	const char *name;
	const struct option *long_opts;
	void (*usage)(FILE *f);
	bool (*own)(void *ctx, int opt, const char *arg);
	void *ctx;
} phone_program;

/* Defaults (card persona, 106 kbit/s, one tap, 500 ms between taps), then
 * argv; --pki is required. Returns -1 to go on, else the exit status: 0
 * after --help, 2 on misuse (with a message and the usage). */
int phone_options_parse(phone_options *o, const phone_program *prog, int argc, char **argv);

/* The usage lines of the options above, for a program's usage. */
void phone_options_usage(FILE *f);

/* A decimal number up to max: no sign, nothing after it. */
bool phone_parse_ulong(const char *s, unsigned long max, unsigned long *out);

/* Opens --log, if given (- = stdout), into o->cfg.log; false after a
 * message starting with prefix. */
bool phone_options_open_log(phone_options *o, const char *prefix);
void phone_options_close_log(phone_options *o);

#endif
