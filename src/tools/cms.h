/* A detached CMS (PKCS#7) SignedData made by OpenSSL around a key that
 * stays on the token: OpenSSL builds the structure and its signed
 * attributes, the token signs their DER encoding. */
#ifndef KC_CMS_H
#define KC_CMS_H

#include <stddef.h>

#include <openssl/cms.h>
#include <openssl/x509.h>

/* Makes an RSA PKCS#1 v1.5 signature with SHA-256 over TBS into SIG
 * (*SIG_LEN: room in, length out). Returns an exit code (reported). */
typedef int (*kc_cms_signer)(void *arg, const unsigned char *tbs, size_t tbs_len,
                             unsigned char *sig, size_t *sig_len);

/* Builds the SignedData for content whose SHA-256 is DIGEST, signed by
 * CERT's key through SIGN. Returns an exit code; *OUT on success. */
int kc_cms_sign_detached(X509 *cert, const unsigned char digest[32], kc_cms_signer sign, void *arg,
                         CMS_ContentInfo **out);

#endif
