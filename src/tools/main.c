/* kazashi: the command kiosks and people run. It is a PKCS#11 client of
 * the kazashi module like any relying party: each subcommand shows what
 * the module itself offers. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/exitcode.h"
#include "tools/json.h"
#include "tools/module.h"

#define WAITING                                                                                    \
	"  -t, --timeout S give up after S seconds (decimals allowed) without a tap; the\n"        \
	"                  same deadline bounds typing the PIN. Default: wait for ever\n"
#define PIN_FD                                                                                     \
	"  --pin-fd N      read the PIN (one line) from file descriptor N instead of asking\n"     \
	"                  on the terminal\n"
#define TRUST                                                                                      \
	"  --ca FILE       a JPKI CA certificate to verify the certificate against (DER or\n"      \
	"                  PEM); repeatable\n"                                                     \
	"  --crl FILE      a CRL to check revocation in (DER or PEM); repeatable. With any,\n"     \
	"                  the certificate's CA must have a current CRL among them\n"
#define JSON "  --json          one JSON object on stdout, also on failure\n"

static const kc_command commands[] = {
    {"list", KC_OPT_JSON, 0, 0, "[--json]", "readers, what is tapped, PIN tries left",
     "Show the readers, whether a phone or card is on each and what holds the\n"
     "certificates (My Number card, Android, iPhone), and the PIN and password tries\n"
     "left. No try is used.\n",
     JSON, kc_cmd_list},
    {"wait", KC_OPT_TIMEOUT | KC_OPT_JSON, 0, 0, "[--timeout S] [--json]",
     "wait for a phone or card to be tapped",
     "Wait until a phone or card is on a reader and say what it is. Returns at once\n"
     "when one already is.\n",
     WAITING JSON, kc_cmd_wait},
    {"auth", KC_OPT_CA | KC_OPT_CRL | KC_OPT_PIN_FD | KC_OPT_JSON | KC_OPT_TIMEOUT, 0, 0,
     "--ca FILE [--ca FILE]... [--crl FILE]... [--pin-fd N] [--timeout S] [--json]",
     "authenticate the holder (PIN, challenge, chain, CRL)",
     "User authentication (利用者証明), as a kiosk does it: wait for a tap, read the\n"
     "user-authentication certificate, ask for the 4-digit PIN, have the phone sign a\n"
     "fresh random challenge, verify the signature with the certificate's key, and\n"
     "verify the certificate's chain to the CA certificates given and, when CRLs are\n"
     "given, that it is not revoked. Exit status 0 only when all of it verified.\n",
     TRUST PIN_FD WAITING JSON, kc_cmd_auth},
    {"holder", KC_OPT_CA | KC_OPT_CRL | KC_OPT_PIN_FD | KC_OPT_JSON | KC_OPT_TIMEOUT, 0, 0,
     "[--ca FILE]... [--crl FILE]... [--pin-fd N] [--timeout S] [--json]",
     "show the signature certificate's holder data",
     "After the signature password, show the signature certificate's holder data:\n"
     "name, date of birth (ISO 8601, with its era), gender, address, and whether\n"
     "substitute characters stand in the name or address. With --ca, only a\n"
     "certificate that verifies is shown.\n",
     TRUST PIN_FD WAITING JSON, kc_cmd_holder},
    {"change-pin", KC_OPT_PIN_FD | KC_OPT_TIMEOUT, 1, 1, "[--pin-fd N] [--timeout S] auth|sign",
     "change the PIN or the signature password",
     "Change the user-authentication PIN (auth) or the signature password (sign). The\n"
     "current and new values are asked first (the new one twice on a terminal; from\n"
     "--pin-fd, one line each) and checked for form before anything is sent.\n",
     PIN_FD WAITING, kc_cmd_change_pin},
    {"sign", KC_OPT_KEY | KC_OPT_OUT | KC_OPT_PEM | KC_OPT_PIN_FD | KC_OPT_TIMEOUT, 1, 1,
     "--key auth|sign [-o OUT] [--pem] [--pin-fd N] [--timeout S] FILE",
     "detached CMS signature over a file",
     "Make a detached CMS (PKCS#7) signature over FILE with the token's key, SHA-256\n"
     "and RSA PKCS#1 v1.5; `openssl cms -verify -binary -content FILE` verifies it.\n",
     "  --key auth|sign the user-authentication key (PIN) or the signature key\n"
     "                  (password)\n"
     "  -o, --out OUT   where the signature goes (default: FILE.p7s; - for stdout)\n"
     "  --pem           PEM instead of DER\n" PIN_FD WAITING,
     kc_cmd_sign},
};
#define KC_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void overview(FILE *out)
{
	fputs("usage: kazashi [--module PATH] COMMAND [OPTIONS]\n\n"
	      "JPKI certificates on phones and My Number cards, through the kazashi PKCS#11\n"
	      "module. Commands:\n",
	      out);
	for (size_t i = 0; i < KC_COMMANDS; i++)
		fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].brief);
	fputs("\n`kazashi COMMAND --help` says more; see also kazashi(1).\n", out);
}

static const kc_command *find(const char *name)
{
	for (size_t i = 0; i < KC_COMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *module = NULL;
	int i = 1;
	/* Global options come before the command. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			overview(stdout);
			return KC_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("kazashi %s\n", PACKAGE_VERSION);
			return KC_OK;
		} else if (strcmp(argv[i], "--module") == 0 && i + 1 < argc) {
			module = argv[++i];
		} else if (strncmp(argv[i], "--module=", 9) == 0) {
			module = argv[i] + 9;
		} else {
			overview(stderr);
			return kc_fail(KC_ERROR, "unknown option %s", argv[i]);
		}
	}
	if (i == argc) {
		overview(stderr);
		return KC_ERROR;
	}
	if (strcmp(argv[i], "help") == 0) {
		const kc_command *c = i + 1 < argc ? find(argv[i + 1]) : NULL;
		if (c != NULL)
			kc_cli_help(c, stdout);
		else
			overview(stdout);
		return KC_OK;
	}
	const kc_command *c = find(argv[i]);
	if (c == NULL) {
		overview(stderr);
		return kc_fail(KC_ERROR, "no command '%s'", argv[i]);
	}
	kc_opts o = {.module = module, .timeout = -1, .pin_fd = -1};
	int rc = kc_cli_parse(c, argc - i, argv + i, &o);
	if (rc >= 0) {
		kc_cli_free(&o);
		return rc;
	}
	kc_module m;
	rc = kc_module_load(&m, o.module != NULL ? o.module : kc_module_default());
	if (rc == KC_OK)
		rc = c->run(&m, &o);
	kc_module_unload(&m);
	if (rc != KC_OK && o.json)
		kc_json_failure(stdout, c->name);
	kc_cli_free(&o);
	return rc;
}
