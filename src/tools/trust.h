/* Whether a certificate from a phone is to be believed: its chain to the
 * JPKI CA certificates the relying party gives, and its revocation in the
 * CRLs it gives. Nothing the phone sends is a trust anchor. */
#ifndef KC_TRUST_H
#define KC_TRUST_H

#include <stddef.h>

#include <openssl/x509.h>

typedef struct kc_trust {
	X509_STORE *store;
	size_t cas;  /* CA certificates loaded */
	size_t crls; /* CRLs loaded: revocation is checked when > 0 */
} kc_trust;

/* Loads the files (DER, or PEM with any number of blocks). Returns an exit
 * code (reported). */
int kc_trust_load(kc_trust *t, char *const *ca, size_t nca, char *const *crl, size_t ncrl);

/* Verifies CERT's chain to the CAs (at the current time) and, when CRLs
 * were loaded, that the CRL of its issuer is current and does not list it.
 * Returns KC_OK, KC_UNTRUSTED or KC_REVOKED (reported). */
int kc_trust_check(const kc_trust *t, X509 *cert);

void kc_trust_free(kc_trust *t);

#endif
