#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "tools/cms.h"
#include "tools/exitcode.h"

#define KC_CMS_SIG_MAX 512

/* One signed attribute, DER-encoded. */
typedef struct der {
	unsigned char *bytes;
	int len;
} der;

/* DER orders a SET OF by its members' encodings (X.690 11.6). */
static int der_order(const void *a, const void *b)
{
	const der *x = a, *y = b;
	int common = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->bytes, y->bytes, (size_t)common);
	return c != 0 ? c : x->len - y->len;
}

/* Appends a DER length. */
static size_t put_length(unsigned char *p, size_t len)
{
	if (len < 0x80) {
		p[0] = (unsigned char)len;
		return 1;
	}
	size_t n = 0;
	for (size_t v = len; v > 0; v >>= 8)
		n++;
	p[0] = (unsigned char)(0x80 | n);
	for (size_t i = 0; i < n; i++)
		p[1 + i] = (unsigned char)(len >> (8 * (n - 1 - i)));
	return 1 + n;
}

/* What the signature covers: the signed attributes as a DER SET OF with
 * the universal SET tag (RFC 5652 5.4), not the [0] IMPLICIT tag they
 * carry inside SignerInfo. OpenSSL sorts the set the same way when it
 * writes the SignerInfo, so the two encodings agree. */
static unsigned char *signed_attrs_der(CMS_SignerInfo *si, size_t *out_len)
{
	int n = CMS_signed_get_attr_count(si);
	if (n <= 0)
		return NULL;
	der *parts = calloc((size_t)n, sizeof(*parts));
	unsigned char *out = NULL;
	size_t body = 0;
	bool ok = parts != NULL;
	for (int i = 0; ok && i < n; i++) {
		parts[i].len = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &parts[i].bytes);
		ok = parts[i].len > 0;
		body += ok ? (size_t)parts[i].len : 0;
	}
	if (ok) {
		qsort(parts, (size_t)n, sizeof(*parts), der_order);
		out = malloc(body + 16);
	}
	if (out != NULL) {
		size_t at = 0;
		out[at++] = 0x31; /* SET */
		at += put_length(out + at, body);
		for (int i = 0; i < n; i++) {
			memcpy(out + at, parts[i].bytes, (size_t)parts[i].len);
			at += (size_t)parts[i].len;
		}
		*out_len = at;
	}
	for (int i = 0; parts != NULL && i < n; i++)
		OPENSSL_free(parts[i].bytes);
	free(parts);
	return out;
}

/* contentType, signingTime and messageDigest: what RFC 5652 asks of a
 * signature over attributes, and all OpenSSL needs to verify one. */
static bool add_attributes(CMS_SignerInfo *si, const unsigned char digest[32])
{
	ASN1_TIME *now = X509_gmtime_adj(NULL, 0);
	bool ok = now != NULL &&
	          CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
	                                      OBJ_nid2obj(NID_pkcs7_data), -1) &&
	          CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, now->type, now, -1) &&
	          CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING,
	                                      digest, 32);
	ASN1_TIME_free(now);
	return ok;
}

int kc_cms_sign_detached(X509 *cert, const unsigned char digest[32], kc_cms_signer sign, void *arg,
                         CMS_ContentInfo **out)
{
	*out = NULL;
	/* CMS_PARTIAL: OpenSSL makes the structure and stops before it would
	 * sign; the signer below is given the certificate's public key, which
	 * sets the algorithms and the signer's identifier, but never signs. */
	unsigned flags = CMS_PARTIAL | CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	CMS_SignerInfo *si = NULL;
	if (cms != NULL && pub != NULL)
		si = CMS_add1_signer(cms, cert, pub, EVP_sha256(), flags);
	if (si == NULL || !add_attributes(si, digest)) {
		CMS_ContentInfo_free(cms);
		ERR_clear_error();
		return kc_fail(KC_ERROR, "OpenSSL could not build the CMS structure");
	}
	size_t tbs_len = 0;
	unsigned char *tbs = signed_attrs_der(si, &tbs_len);
	unsigned char sig[KC_CMS_SIG_MAX];
	size_t sig_len = sizeof(sig);
	int rc = tbs == NULL ? kc_fail(KC_ERROR, "cannot encode the signed attributes")
	                     : sign(arg, tbs, tbs_len, sig, &sig_len);
	free(tbs);
	if (rc == KC_OK && !ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), sig, (int)sig_len))
		rc = kc_fail(KC_ERROR, "out of memory");
	/* The signer's key is only a public one: check the result as any
	 * verifier will, signature over attributes and all. */
	if (rc == KC_OK && CMS_SignerInfo_verify(si) != 1)
		rc = kc_fail(KC_BAD_SIGNATURE, "the token's signature does not verify in the CMS "
		                               "structure");
	ERR_clear_error();
	if (rc != KC_OK) {
		CMS_ContentInfo_free(cms);
		return rc;
	}
	*out = cms;
	return KC_OK;
}
