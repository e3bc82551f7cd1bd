/* What the PKCS#11 objects need from a certificate, parsed with OpenSSL. */
#ifndef KZ_JPKI_CERT_H
#define KZ_JPKI_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct jpki_blob {
	uint8_t *data;
	size_t len;
} jpki_blob;

typedef struct jpki_cert {
	jpki_blob der;      /* the whole certificate */
	jpki_blob subject;  /* DER Name */
	jpki_blob issuer;   /* DER Name */
	jpki_blob serial;   /* DER INTEGER, as CKA_SERIAL_NUMBER wants */
	jpki_blob modulus;  /* big-endian, no leading zero */
	jpki_blob exponent; /* big-endian */
	jpki_blob spki;     /* DER SubjectPublicKeyInfo (CKA_PUBLIC_KEY_INFO) */
	unsigned key_bits;
	char not_before[9]; /* YYYYMMDD, for CKA_START_DATE */
	char not_after[9];  /* YYYYMMDD, for CKA_END_DATE */
	char *subject_cn;   /* UTF-8 commonName, or NULL */
} jpki_cert;

/* Parse an RSA certificate; cert owns copies of everything.
 * KZ_E_PROTOCOL when der is not an RSA X.509 certificate. */
kz_err jpki_cert_parse(const uint8_t *der, size_t der_len, jpki_cert *cert);
void jpki_cert_clear(jpki_cert *cert);

/* Check that sig is a valid PKCS#1 v1.5 signature of the DigestInfo (or raw
 * input) under the certificate's public key. KZ_OK or KZ_E_PROTOCOL. */
kz_err jpki_cert_verify_raw(const jpki_cert *cert, const uint8_t *input, size_t input_len,
                            const uint8_t *sig, size_t sig_len);

#endif
