/* The options both simulator programs take for the phone: see
 * phone-options.h. */
#include "config.h"

#include "phone-options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void phone_options_usage(FILE *f)
{
	fputs("  --persona card|android|iphone  what holds the application (card)\n"
	      "  --pki DIR          test PKI made by tests/sim/make-pki.sh (required)\n"
	      "  --auth-pin P       user-authentication PIN (1234)\n"
	      "  --sign-pin P       signature password (ABC123)\n"
	      "  --auth-tries N     tries left at start, 0 = blocked (3)\n"
	      "  --sign-tries N     tries left at start, 0 = blocked (5)\n"
	      "  --leave-at N       leave the field instead of answering APDU N\n"
	      "  --cert-ef-size N   pad certificate EFs with zeros to N bytes\n"
	      "  --log FILE         APDU log, one JSON object a line (- = stdout)\n"
	      "  --kbps N           link model rate: 106, 212, 424, 848 (106)\n"
	      "  --taps N           taps in all, 0 = forever (1)\n"
	      "  --tap-gap-ms N     time out of the field between taps (500)\n",
	      f);
}

bool phone_parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_persona(const char *s, sim_persona *out)
{
	static const struct {
		const char *name;
		sim_persona p;
	} names[] = {{"card", SIM_PERSONA_CARD},
	             {"android", SIM_PERSONA_ANDROID},
	             {"iphone", SIM_PERSONA_IPHONE}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].p;
			return true;
		}
	return false;
}

/* --auth-tries 0 means blocked, while 0 in sim_config means the default. */
static bool parse_tries(const char *arg, unsigned long max, int *out)
{
	unsigned long v;

	if (!phone_parse_ulong(arg, max, &v))
		return false;
	*out = v == 0 ? -1 : (int)v;
	return true;
}

/* One of the phone's options with its value; false: a bad value. */
static bool parse_phone(phone_options *o, int opt, const char *arg)
{
	unsigned long v;

	switch (opt) {
	case PHONE_OPT_PERSONA:
		return parse_persona(arg, &o->cfg.persona);
	case PHONE_OPT_PKI:
		o->cfg.pki_dir = arg;
		return true;
	case PHONE_OPT_AUTH_PIN:
		o->cfg.auth_pin = arg;
		return true;
	case PHONE_OPT_SIGN_PIN:
		o->cfg.sign_pin = arg;
		return true;
	case PHONE_OPT_AUTH_TRIES:
		return parse_tries(arg, 3, &o->cfg.auth_tries);
	case PHONE_OPT_SIGN_TRIES:
		return parse_tries(arg, 5, &o->cfg.sign_tries);
	case PHONE_OPT_LEAVE_AT:
		return phone_parse_ulong(arg, ULONG_MAX, &o->cfg.leave_at_apdu);
	case PHONE_OPT_EF_SIZE:
		if (!phone_parse_ulong(arg, 32767, &v))
			return false;
		o->cfg.cert_ef_size = v;
		return true;
	case PHONE_OPT_LOG:
		o->log_path = arg;
		return true;
	case PHONE_OPT_KBPS:
		if (!phone_parse_ulong(arg, 848, &v) ||
		    (v != 106 && v != 212 && v != 424 && v != 848))
			return false;
		o->cfg.kbps = (unsigned)v;
		return true;
	case PHONE_OPT_TAPS:
		return phone_parse_ulong(arg, ULONG_MAX, &o->taps);
	case PHONE_OPT_GAP:
		return phone_parse_ulong(arg, 3600000, &o->gap_ms);
	default:
		return false;
	}
}

static const char *option_name(const struct option *opts, int opt)
{
	for (; opts->name != NULL; opts++)
		if (opts->val == opt)
			return opts->name;
	return "?";
}

int phone_options_parse(phone_options *o, const phone_program *prog, int argc, char **argv)
{
	int opt;
	bool good;

	memset(o, 0, sizeof(*o));
	o->taps = 1;
	o->gap_ms = 500;
	o->cfg.persona = SIM_PERSONA_CARD;
	o->cfg.kbps = 106;
	while ((opt = getopt_long(argc, argv, "", prog->long_opts, NULL)) != -1) {
		if (opt == PHONE_OPT_HELP) {
			prog->usage(stdout);
			return 0;
		}
		if (opt < PHONE_OPT_PERSONA) { /* '?': getopt said why */
			prog->usage(stderr);
			return 2;
		}
		good = opt < PHONE_OPT_END ? parse_phone(o, opt, optarg)
		                           : prog->own(prog->ctx, opt, optarg);
		if (!good) {
			fprintf(stderr, "%s: bad value for --%s: %s\n", prog->name,
			        option_name(prog->long_opts, opt), optarg);
			return 2;
		}
	}
	if (optind < argc || o->cfg.pki_dir == NULL) {
		fprintf(stderr, "%s: %s\n", prog->name,
		        optind < argc ? "unexpected argument" : "--pki DIR is required");
		prog->usage(stderr);
		return 2;
	}
	return -1;
}

bool phone_options_open_log(phone_options *o, const char *prefix)
{
	if (o->log_path == NULL)
		return true;
	o->cfg.log = strcmp(o->log_path, "-") == 0 ? stdout : fopen(o->log_path, "w");
	if (o->cfg.log == NULL) {
		fprintf(stderr, "%s: cannot open %s: %s\n", prefix, o->log_path, strerror(errno));
		return false;
	}
	return true;
}

void phone_options_close_log(phone_options *o)
{
	if (o->cfg.log != NULL && o->cfg.log != stdout)
		fclose(o->cfg.log);
	o->cfg.log = NULL;
}
