/* Certificates as people and scripts read them. */
#ifndef KC_CERTINFO_H
#define KC_CERTINFO_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "tools/json.h"

/* "C=JP, CN=...": UTF-8, control characters escaped. */
void kc_cert_name(const X509_NAME *name, char *buf, size_t size);

/* Upper-case hexadecimal, as `openssl x509 -serial` prints it. */
void kc_cert_serial(const X509 *cert, char *buf, size_t size);

/* ISO 8601 in UTC: "2030-01-01T00:00:00Z". */
void kc_cert_time(const ASN1_TIME *t, char *buf, size_t size);

/* The lines (or members) every command shows for a certificate. */
void kc_cert_print(FILE *out, const X509 *cert);
void kc_cert_json(kc_json *j, const X509 *cert);

/* Whether SIG is CERT's key's signature over DATA with MD. */
bool kc_cert_verify(const X509 *cert, const EVP_MD *md, const unsigned char *data, size_t len,
                    const unsigned char *sig, size_t sig_len);

#endif
