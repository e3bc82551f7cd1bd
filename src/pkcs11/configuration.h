/* Configuration: $sysconfdir/kazashi/kazashi.conf (or $KAZASHI_CONF), then
 * key=value words from CK_C_INITIALIZE_ARGS.pReserved, then KAZASHI_DEBUG.
 * Later sources override earlier ones. docs/configuration.md and
 * kazashi.conf(5) describe every key.
 *
 * In a process the kernel marks AT_SECURE (setuid, setgid or file
 * capabilities: a PAM module under su or sudo) the caller is not trusted:
 * KAZASHI_CONF and KAZASHI_DEBUG are not read (secure_getenv) and log_file
 * from pReserved is ignored, so that only the system file says where a
 * privileged process writes. */
#ifndef KZ_PKCS11_CONFIGURATION_H
#define KZ_PKCS11_CONFIGURATION_H

#include <stdbool.h>

#include "util/log.h"

#define KZ_CONFIG_VALUE_MAX 256

typedef struct kz_config {
	bool pcsc; /* use PC/SC readers */
	/* Comma-separated substrings of reader names (ASCII case ignored):
	 * a reader is used if it holds one of pcsc_readers (or that list is
	 * empty) and none of pcsc_ignore. */
	char pcsc_readers[KZ_CONFIG_VALUE_MAX];
	char pcsc_ignore[KZ_CONFIG_VALUE_MAX];
	kz_log_level log_level;
	char log_file[KZ_CONFIG_VALUE_MAX]; /* "" = stderr */
	bool apdu_trace;
	bool extended_apdu; /* try extended-length READ BINARY */
	/* Keep certificates read in this process (memory only) so that a
	 * re-tapped phone is spared its certificate read; "no" on shared
	 * kiosks. docs/performance.md says what is kept and why. */
	bool certificate_cache;
	/* Offer the Digital Signature slots. "no" for programs that only
	 * authenticate users: a browser then never asks for the signature
	 * password while it looks for client certificates. */
	bool signature_token;
	/* Show the issuer (CA) certificate objects on the tokens. "no" by
	 * default: OpenSSH takes every certificate object for a key of its
	 * user, and ssh-keygen -D then lists the CA's key for pasting into
	 * authorized_keys. "yes" for relying parties that want the chain on
	 * the token (NSS's certificate viewer, discovery tools). Off, no CA
	 * certificate is ever read from a card. */
	bool ca_certificates;
	bool nfc; /* use libnfc devices (builds with libnfc only) */
	/* libnfc connection strings, separated by spaces or commas; "" =
	 * those libnfc's own configuration names or finds. */
	char nfc_device[KZ_CONFIG_VALUE_MAX];
	/* Hold an exclusive PC/SC transaction on the card for as long as the
	 * user-authentication token is logged in, so that no other program
	 * reaches the card meanwhile (OpenSC's setting of the same name).
	 * Off by default: it shuts out every other PC/SC client of that
	 * reader until the logout. src/pkcs11/token.c acts on it. */
	bool lock_login;
} kz_config;

/* Longest configuration-file line, newline not counted; a longer line is
 * reported and skipped whole. */
#define KZ_CONFIG_LINE_MAX 511

void kz_config_defaults(kz_config *c);
/* Read the file named by $KAZASHI_CONF or the default path; a missing file
 * (or one that is not a regular file, such as /dev/null) is no error. Bad
 * lines (unknown, malformed, longer than KZ_CONFIG_LINE_MAX) are skipped,
 * and the first of them is reported on stderr: one warning a file, so
 * that a file nobody meant as a configuration does not have its lines
 * counted out loud. */
void kz_config_load_file(kz_config *c);
/* Apply whitespace-separated key=value words (p11-kit's x-init-reserved,
 * NSS's module parameters). A value may be quoted as NSS quotes its own:
 * 'a b', "a b", {a b}, [a b], (a b) or <a b>. Unknown keys are ignored:
 * NSS passes its own parameters through the same string. */
void kz_config_apply_words(kz_config *c, const char *words);
/* KAZASHI_DEBUG, unless the process is privileged (see above). */
void kz_config_apply_env(kz_config *c);
/* Whether the caller of this process may not choose its configuration:
 * the kernel's AT_SECURE. */
bool kz_config_privileged(void);
/* Set one key; false when the key is unknown or the value malformed. */
bool kz_config_set(kz_config *c, const char *key, const char *value);
/* Whether the PC/SC reader of this name is to be used. */
bool kz_config_pcsc_reader_wanted(const kz_config *c, const char *name);

#endif
