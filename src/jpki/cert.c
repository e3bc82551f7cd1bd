/* Certificate fields for PKCS#11 objects, parsed with OpenSSL 3.
 * Everything handed out is a malloc'ed copy, so that callers free() it and
 * never mix allocators with OpenSSL. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "jpki/cert.h"

static kz_err blob_copy(jpki_blob *b, const void *p, size_t len)
{
	b->data = malloc(len > 0 ? len : 1);
	if (b->data == NULL)
		return KZ_E_NOMEM;
	if (len > 0)
		memcpy(b->data, p, len);
	b->len = len;
	return KZ_OK;
}

/* Take what an OpenSSL i2d function allocated (len < 0 on its failure). */
static kz_err blob_take(jpki_blob *b, unsigned char *ossl, int len)
{
	if (ossl == NULL || len <= 0) {
		OPENSSL_free(ossl);
		return KZ_E_PROTOCOL;
	}
	kz_err err = blob_copy(b, ossl, (size_t)len);
	OPENSSL_free(ossl);
	return err;
}

static kz_err name_der(jpki_blob *b, const X509_NAME *name)
{
	unsigned char *p = NULL;
	if (name == NULL)
		return KZ_E_PROTOCOL;
	int len = i2d_X509_NAME(name, &p);
	return blob_take(b, p, len);
}

static kz_err serial_der(jpki_blob *b, const ASN1_INTEGER *serial)
{
	unsigned char *p = NULL;
	if (serial == NULL)
		return KZ_E_PROTOCOL;
	int len = i2d_ASN1_INTEGER(serial, &p);
	return blob_take(b, p, len);
}

/* The certificate's own SubjectPublicKeyInfo, re-encoded as it is: going
 * through the EVP_PKEY (i2d_PUBKEY) gives the same bytes at a quarter of a
 * cold flow's CPU, spent in OpenSSL's encoder machinery. */
static kz_err spki_der(jpki_blob *b, X509 *x)
{
	unsigned char *p = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &p);
	return blob_take(b, p, len);
}

/* An RSA key parameter as unsigned big-endian bytes, no leading zero. */
static kz_err bn_param(jpki_blob *b, const EVP_PKEY *pkey, const char *param)
{
	BIGNUM *bn = NULL;
	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1 || bn == NULL)
		return KZ_E_PROTOCOL;
	kz_err err = KZ_E_PROTOCOL;
	int len = BN_num_bytes(bn);
	if (len > 0) {
		b->data = malloc((size_t)len);
		err = KZ_E_NOMEM;
		if (b->data != NULL) {
			b->len = (size_t)BN_bn2bin(bn, b->data);
			err = KZ_OK;
		}
	}
	BN_free(bn);
	return err;
}

/* value as n decimal digits, most significant first. */
static void put_digits(char *out, unsigned value, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + value % 10);
		value /= 10;
	}
}

/* YYYYMMDD, the form of CK_DATE. */
static kz_err date_str(char out[9], const ASN1_TIME *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return KZ_E_PROTOCOL;
	int year = tm.tm_year + 1900;
	if (year < 0 || year > 9999 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31)
		return KZ_E_PROTOCOL;
	put_digits(out, (unsigned)year, 4);
	put_digits(out + 4, (unsigned)tm.tm_mon + 1, 2);
	put_digits(out + 6, (unsigned)tm.tm_mday, 2);
	out[8] = '\0';
	return KZ_OK;
}

/* The subject's first commonName as a C string, or NULL when there is none
 * or it cannot be a C string (an embedded NUL would let a name look shorter
 * than it is). Not an error: the CN is only a label. */
static char *common_name(const X509_NAME *name)
{
	int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0)
		return NULL;
	const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, idx);
	const ASN1_STRING *s = X509_NAME_ENTRY_get_data(e);
	unsigned char *utf8 = NULL;
	int len = s != NULL ? ASN1_STRING_to_UTF8(&utf8, s) : -1;
	char *cn = NULL;
	if (len >= 0 && utf8 != NULL && memchr(utf8, 0, (size_t)len) == NULL) {
		cn = malloc((size_t)len + 1);
		if (cn != NULL) {
			memcpy(cn, utf8, (size_t)len);
			cn[len] = '\0';
		}
	}
	OPENSSL_free(utf8);
	return cn;
}

/* Every field but der, from a parsed certificate. */
static kz_err fill_fields(X509 *x, jpki_cert *cert)
{
	const EVP_PKEY *pkey = X509_get0_pubkey(x);
	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "RSA"))
		return KZ_E_PROTOCOL;
	kz_err err;
	if ((err = name_der(&cert->subject, X509_get_subject_name(x))) != KZ_OK ||
	    (err = name_der(&cert->issuer, X509_get_issuer_name(x))) != KZ_OK ||
	    (err = serial_der(&cert->serial, X509_get0_serialNumber(x))) != KZ_OK ||
	    (err = bn_param(&cert->modulus, pkey, OSSL_PKEY_PARAM_RSA_N)) != KZ_OK ||
	    (err = bn_param(&cert->exponent, pkey, OSSL_PKEY_PARAM_RSA_E)) != KZ_OK ||
	    (err = spki_der(&cert->spki, x)) != KZ_OK ||
	    (err = date_str(cert->not_before, X509_get0_notBefore(x))) != KZ_OK ||
	    (err = date_str(cert->not_after, X509_get0_notAfter(x))) != KZ_OK)
		return err;
	int bits = EVP_PKEY_get_bits(pkey);
	if (bits <= 0)
		return KZ_E_PROTOCOL;
	cert->key_bits = (unsigned)bits;
	cert->subject_cn = common_name(X509_get_subject_name(x));
	return KZ_OK;
}

kz_err jpki_cert_parse(const uint8_t *der, size_t der_len, jpki_cert *cert)
{
	if (cert == NULL)
		return KZ_E_ARGS;
	memset(cert, 0, sizeof *cert);
	if (der == NULL || der_len == 0 || der_len > LONG_MAX)
		return KZ_E_PROTOCOL;

	/* Leave the host program's OpenSSL error queue as we found it: our
	 * failures are reported through the return value. */
	ERR_set_mark();
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)der_len);
	kz_err err = KZ_E_PROTOCOL;
	/* Bytes after the certificate mean the file is not what it claims to
	 * be; the object value must be exactly one certificate. */
	if (x != NULL && p == der + der_len) {
		err = fill_fields(x, cert);
		if (err == KZ_OK)
			err = blob_copy(&cert->der, der, der_len);
	}
	X509_free(x);
	ERR_pop_to_mark();
	if (err != KZ_OK)
		jpki_cert_clear(cert);
	return err;
}

static void blob_free(jpki_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

void jpki_cert_clear(jpki_cert *cert)
{
	if (cert == NULL)
		return;
	blob_free(&cert->der);
	blob_free(&cert->subject);
	blob_free(&cert->issuer);
	blob_free(&cert->serial);
	blob_free(&cert->modulus);
	blob_free(&cert->exponent);
	blob_free(&cert->spki);
	free(cert->subject_cn);
	memset(cert, 0, sizeof *cert);
}

/* PKCS#1 v1.5 type-1 check of sig against input taken as the whole
 * DigestInfo (or raw data): with no signature digest set, OpenSSL compares
 * the unpadded block with input itself, which is what the card signed. */
static bool verify_pkcs1(EVP_PKEY *pkey, const uint8_t *input, size_t input_len, const uint8_t *sig,
                         size_t sig_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	bool ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
	          EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	          EVP_PKEY_verify(ctx, sig, sig_len, input, input_len) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

kz_err jpki_cert_verify_raw(const jpki_cert *cert, const uint8_t *input, size_t input_len,
                            const uint8_t *sig, size_t sig_len)
{
	if (cert == NULL || cert->spki.data == NULL || input == NULL || input_len == 0 ||
	    sig == NULL || sig_len == 0)
		return KZ_E_ARGS;
	if (cert->spki.len > LONG_MAX)
		return KZ_E_PROTOCOL;
	/* A signature of another length than the modulus is never valid;
	 * refuse it before OpenSSL sees it. */
	if (sig_len != cert->modulus.len)
		return KZ_E_PROTOCOL;

	ERR_set_mark();
	const unsigned char *p = cert->spki.data;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)cert->spki.len);
	bool ok = pkey != NULL && verify_pkcs1(pkey, input, input_len, sig, sig_len);
	EVP_PKEY_free(pkey);
	ERR_pop_to_mark();
	return ok ? KZ_OK : KZ_E_PROTOCOL;
}
