/* Configuration: $sysconfdir/kazashi/kazashi.conf (or $KAZASHI_CONF), then
 * key=value words from CK_C_INITIALIZE_ARGS.pReserved, then KAZASHI_DEBUG.
 * Later sources override earlier ones. */
#ifndef KZ_PKCS11_CONFIGURATION_H
#define KZ_PKCS11_CONFIGURATION_H

#include <stdbool.h>

#include "util/log.h"

#define KZ_CONFIG_VALUE_MAX 256

typedef struct kz_config {
	bool pcsc;                         /* use PC/SC readers */
	char pcsc_filter[KZ_CONFIG_VALUE_MAX]; /* substring a reader name must hold; "" = all */
	kz_log_level log_level;
	char log_file[KZ_CONFIG_VALUE_MAX]; /* "" = stderr */
	bool apdu_trace;
	bool extended_apdu; /* try extended-length READ BINARY */
} kz_config;

void kz_config_defaults(kz_config *c);
/* Read the file named by $KAZASHI_CONF or the default path; a missing file
 * is not an error, a malformed line is logged and skipped. */
void kz_config_load_file(kz_config *c);
/* Apply whitespace-separated key=value words (pReserved, NSS parameters).
 * Unknown keys are logged at debug level and ignored: NSS passes its own. */
void kz_config_apply_words(kz_config *c, const char *words);
void kz_config_apply_env(kz_config *c);
/* Set one key; false when the key is unknown or the value malformed. */
bool kz_config_set(kz_config *c, const char *key, const char *value);

#endif
