#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/exitcode.h"

enum long_only { OPT_MODULE = 256, OPT_PIN_FD, OPT_JSON, OPT_CA, OPT_CRL, OPT_KEY, OPT_PEM };

static const struct option long_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"module", required_argument, NULL, OPT_MODULE},
    {"timeout", required_argument, NULL, 't'},
    {"pin-fd", required_argument, NULL, OPT_PIN_FD},
    {"json", no_argument, NULL, OPT_JSON},
    {"ca", required_argument, NULL, OPT_CA},
    {"crl", required_argument, NULL, OPT_CRL},
    {"key", required_argument, NULL, OPT_KEY},
    {"out", required_argument, NULL, 'o'},
    {"pem", no_argument, NULL, OPT_PEM},
    {NULL, 0, NULL, 0},
};

/* Which kc_opt bit each option needs (0: every subcommand has it). */
static unsigned needs(int opt)
{
	switch (opt) {
	case 't':
		return KC_OPT_TIMEOUT;
	case OPT_PIN_FD:
		return KC_OPT_PIN_FD;
	case OPT_JSON:
		return KC_OPT_JSON;
	case OPT_CA:
		return KC_OPT_CA;
	case OPT_CRL:
		return KC_OPT_CRL;
	case OPT_KEY:
		return KC_OPT_KEY;
	case 'o':
		return KC_OPT_OUT;
	case OPT_PEM:
		return KC_OPT_PEM;
	default:
		return 0;
	}
}

bool kc_cli_kind(const char *word, kc_kind *kind)
{
	if (strcmp(word, "auth") == 0)
		*kind = KC_KIND_AUTH;
	else if (strcmp(word, "sign") == 0)
		*kind = KC_KIND_SIGN;
	else
		return false;
	return true;
}

static bool push(char ***list, size_t *n, char *value)
{
	char **grown = realloc(*list, (*n + 1) * sizeof(*grown));
	if (grown == NULL)
		return false;
	grown[(*n)++] = value;
	*list = grown;
	return true;
}

static int usage_error(const kc_command *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const kc_command *c, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return kc_fail(KC_ERROR, "%s %s (see kazashi %s --help)", c->name, what, c->name);
}

static int parse_option(const kc_command *c, int opt, kc_opts *o)
{
	char *end = NULL;
	switch (opt) {
	case OPT_MODULE:
		o->module = optarg;
		return -1;
	case 't':
		errno = 0;
		o->timeout = strtod(optarg, &end);
		if (errno != 0 || end == optarg || *end != '\0' || !isfinite(o->timeout) ||
		    o->timeout < 0)
			return usage_error(c, "--timeout wants seconds, not '%s'", optarg);
		return -1;
	case OPT_PIN_FD: {
		errno = 0;
		long fd = strtol(optarg, &end, 10);
		if (errno != 0 || end == optarg || *end != '\0' || fd < 0 || fd > INT_MAX)
			return usage_error(c, "--pin-fd wants a file descriptor number, not '%s'",
			                   optarg);
		if (fcntl((int)fd, F_GETFD) < 0)
			return usage_error(c, "--pin-fd: file descriptor %s is not open", optarg);
		o->pin_fd = (int)fd;
		return -1;
	}
	case OPT_JSON:
		o->json = true;
		return -1;
	case OPT_CA:
		return push(&o->ca, &o->nca, optarg) ? -1 : kc_fail(KC_ERROR, "out of memory");
	case OPT_CRL:
		return push(&o->crl, &o->ncrl, optarg) ? -1 : kc_fail(KC_ERROR, "out of memory");
	case OPT_KEY:
		if (!kc_cli_kind(optarg, &o->key))
			return usage_error(c, "--key is auth or sign, not '%s'", optarg);
		o->key_set = true;
		return -1;
	case 'o':
		o->out = optarg;
		return -1;
	case OPT_PEM:
		o->pem = true;
		return -1;
	default:
		return usage_error(c, "was given an option it does not know");
	}
}

static const char *option_name(int opt)
{
	for (const struct option *l = long_options; l->name != NULL; l++) {
		if (l->val == opt)
			return l->name;
	}
	return "?";
}

int kc_cli_parse(const kc_command *c, int argc, char **argv, kc_opts *o)
{
	optind = 0; /* glibc: start afresh on this argument vector */
	opterr = 0; /* our own sentence, with the subcommand's name */
	int opt;
	while ((opt = getopt_long(argc, argv, "ht:o:", long_options, NULL)) != -1) {
		if (opt == 'h') {
			kc_cli_help(c, stdout);
			return KC_OK;
		}
		if (opt == '?') {
			char shortopt[3] = {'-', (char)optopt, '\0'};
			return usage_error(c, "does not know the option %s, or it lacks its value",
			                   optopt != 0 ? shortopt : argv[optind - 1]);
		}
		if ((needs(opt) & c->options) != needs(opt))
			return usage_error(c, "takes no --%s option", option_name(opt));
		int rc = parse_option(c, opt, o);
		if (rc >= 0)
			return rc;
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->nargs < c->min_args)
		return usage_error(c, "is missing an argument: kazashi %s %s", c->name,
		                   c->synopsis);
	if (o->nargs > c->max_args)
		return usage_error(c, "has an argument too many: '%s'", o->args[c->max_args]);
	return -1;
}

void kc_cli_free(kc_opts *o)
{
	free(o->ca);
	free(o->crl);
	o->ca = o->crl = NULL;
	o->nca = o->ncrl = 0;
}

void kc_cli_help(const kc_command *c, FILE *out)
{
	fprintf(out, "usage: kazashi [--module PATH] %s %s\n\n%s\n%s", c->name, c->synopsis,
	        c->summary, c->help);
	fputs("  --module PATH   the PKCS#11 module to load (default: $KAZASHI_MODULE, else\n"
	      "                  the installed kazashi-pkcs11.so)\n"
	      "  -h, --help      this help\n\n"
	      "Exit status: 0 success, 1 usage or other error, 2 wrong PIN, 3 PIN blocked,\n"
	      "4 untrusted certificate, 5 revoked certificate, 6 phone or card removed,\n"
	      "7 timeout, 8 no reader or module or device error, 9 bad signature.\n"
	      "See kazashi(1).\n",
	      out);
}
