/* Certificate parsing and raw PKCS#1 v1.5 verification, against the test
 * PKI and against broken input. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "jpki/cert.h"
#include "testpki.h"

static char *pki_dir;

static int setup(void **state)
{
	(void)state;
	pki_dir = testpki_make();
	return pki_dir != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	testpki_remove(pki_dir);
	pki_dir = NULL;
	return 0;
}

static uint8_t *load(const char *name, size_t *len)
{
	uint8_t *der = testpki_read(pki_dir, name, len);
	assert_non_null(der);
	return der;
}

/* What OpenSSL itself says of the certificate, to compare with. */
static X509 *openssl_cert(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	return x;
}

static void expect_name(const jpki_blob *b, const X509_NAME *name)
{
	unsigned char *want = NULL;
	int n = i2d_X509_NAME(name, &want);
	assert_true(n > 0);
	assert_int_equal(b->len, (size_t)n);
	assert_memory_equal(b->data, want, (size_t)n);
	OPENSSL_free(want);
}

static bool is_date(const char *s)
{
	if (strlen(s) != 8)
		return false;
	for (int i = 0; i < 8; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static void check_cert(const char *name, bool want_cn)
{
	size_t len;
	uint8_t *der = load(name, &len);
	jpki_cert c;
	assert_int_equal(jpki_cert_parse(der, len, &c), KZ_OK);
	X509 *x = openssl_cert(der, len);

	assert_int_equal(c.der.len, len);
	assert_memory_equal(c.der.data, der, len);
	expect_name(&c.subject, X509_get_subject_name(x));
	expect_name(&c.issuer, X509_get_issuer_name(x));
	assert_int_equal(c.serial.data[0], 0x02); /* an INTEGER, tag included */
	assert_int_equal(c.serial.len, (size_t)c.serial.data[1] + 2);
	assert_int_equal(c.key_bits, 2048);
	assert_int_equal(c.modulus.len, 256);
	assert_true(c.modulus.data[0] != 0);
	assert_int_equal(c.exponent.len, 3);
	assert_memory_equal(c.exponent.data, "\x01\x00\x01", 3);
	assert_int_equal(c.spki.data[0], 0x30);
	assert_true(is_date(c.not_before));
	assert_true(is_date(c.not_after));
	assert_true(strcmp(c.not_before, c.not_after) < 0);
	if (want_cn)
		assert_non_null(c.subject_cn);
	else
		assert_null(c.subject_cn);

	X509_free(x);
	jpki_cert_clear(&c);
	assert_null(c.der.data);
	free(der);
}

static void test_parse_pki(void **state)
{
	(void)state;
	check_cert("auth.der", true);
	check_cert("sign.der", true);
	check_cert("authca.der", false); /* CA names have no CN */
	check_cert("signca.der", false);
}

/* make-pki.sh names the auth certificate 12 hex digits and an "A". */
static void test_auth_cn(void **state)
{
	(void)state;
	size_t len;
	uint8_t *der = load("auth.der", &len);
	jpki_cert c;
	assert_int_equal(jpki_cert_parse(der, len, &c), KZ_OK);
	assert_non_null(c.subject_cn);
	assert_int_equal(strlen(c.subject_cn), 13);
	assert_int_equal(c.subject_cn[12], 'A');
	jpki_cert_clear(&c);
	free(der);
}

static void test_trailing_garbage(void **state)
{
	(void)state;
	size_t len;
	uint8_t *der = load("auth.der", &len);
	uint8_t *more = malloc(len + 16);
	assert_non_null(more);
	memcpy(more, der, len);
	memset(more + len, 0, 16);
	jpki_cert c;
	/* a zero-padded EF read whole is not a certificate */
	assert_int_equal(jpki_cert_parse(more, len + 1, &c), KZ_E_PROTOCOL);
	assert_int_equal(jpki_cert_parse(more, len + 16, &c), KZ_E_PROTOCOL);
	assert_null(c.der.data);
	free(more);
	free(der);
}

/* Every prefix of a certificate, and every single-bit change of its first
 * bytes (the header and the lengths), is refused or parsed cleanly: never
 * a crash or a leak (valgrind watches). */
static void test_broken_input(void **state)
{
	(void)state;
	size_t len;
	uint8_t *der = load("sign.der", &len);
	jpki_cert c;
	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n + 1);
		assert_non_null(copy);
		memcpy(copy, der, n);
		assert_int_equal(jpki_cert_parse(n > 0 ? copy : NULL, n, &c), KZ_E_PROTOCOL);
		free(copy);
	}
	for (size_t i = 0; i < 64 && i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			der[i] ^= (uint8_t)(1u << bit);
			if (jpki_cert_parse(der, len, &c) == KZ_OK)
				jpki_cert_clear(&c);
			der[i] ^= (uint8_t)(1u << bit);
		}
	}
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	assert_int_equal(jpki_cert_parse(junk, sizeof junk, &c), KZ_E_PROTOCOL);
	assert_int_equal(jpki_cert_parse(der, len, NULL), KZ_E_ARGS);
	free(der);
}

/* A well-formed certificate with an EC key is not one of ours. */
static void test_not_rsa(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	assert_non_null(key);
	X509 *x = X509_new();
	assert_non_null(x);
	X509_NAME *name = X509_NAME_new();
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"ec", -1, -1,
	                           0);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	assert_true(len > 0);

	jpki_cert c;
	assert_int_equal(jpki_cert_parse(der, (size_t)len, &c), KZ_E_PROTOCOL);

	OPENSSL_free(der);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(key);
}

static EVP_PKEY *load_key(const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", pki_dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(key);
	return key;
}

/* PKCS#1 v1.5 type 1 over input as it is, as the card does. */
static void raw_sign(EVP_PKEY *key, const uint8_t *in, size_t in_len, uint8_t sig[256])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t sig_len = 256;
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_sign(ctx, sig, &sig_len, in, in_len), 1);
	assert_int_equal(sig_len, 256);
	EVP_PKEY_CTX_free(ctx);
}

static void test_verify_raw(void **state)
{
	(void)state;
	/* SHA-256 DigestInfo prefix and a made-up digest */
	uint8_t di[51] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	                  0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
	memset(di + 19, 0xAB, 32);
	size_t len;
	uint8_t *der = load("sign.der", &len);
	jpki_cert c;
	assert_int_equal(jpki_cert_parse(der, len, &c), KZ_OK);
	EVP_PKEY *key = load_key("sign.key.pem");
	uint8_t sig[256];
	raw_sign(key, di, sizeof di, sig);

	assert_int_equal(jpki_cert_verify_raw(&c, di, sizeof di, sig, sizeof sig), KZ_OK);
	/* other input, changed signature, wrong lengths */
	di[50] ^= 1;
	assert_int_equal(jpki_cert_verify_raw(&c, di, sizeof di, sig, sizeof sig), KZ_E_PROTOCOL);
	di[50] ^= 1;
	assert_int_equal(jpki_cert_verify_raw(&c, di, sizeof di - 1, sig, sizeof sig),
	                 KZ_E_PROTOCOL);
	sig[100] ^= 0x40;
	assert_int_equal(jpki_cert_verify_raw(&c, di, sizeof di, sig, sizeof sig), KZ_E_PROTOCOL);
	sig[100] ^= 0x40;
	assert_int_equal(jpki_cert_verify_raw(&c, di, sizeof di, sig, 255), KZ_E_PROTOCOL);
	assert_int_equal(jpki_cert_verify_raw(&c, NULL, 0, sig, sizeof sig), KZ_E_ARGS);
	assert_int_equal(jpki_cert_verify_raw(NULL, di, sizeof di, sig, sizeof sig), KZ_E_ARGS);

	/* a signature by the other key does not verify */
	EVP_PKEY *other = load_key("auth.key.pem");
	raw_sign(other, di, sizeof di, sig);
	assert_int_equal(jpki_cert_verify_raw(&c, di, sizeof di, sig, sizeof sig), KZ_E_PROTOCOL);

	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
	jpki_cert_clear(&c);
	free(der);
}

static void test_clear_null(void **state)
{
	(void)state;
	jpki_cert_clear(NULL);
	jpki_cert c;
	memset(&c, 0, sizeof c);
	jpki_cert_clear(&c);
	jpki_cert_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_pki),        cmocka_unit_test(test_auth_cn),
	    cmocka_unit_test(test_trailing_garbage), cmocka_unit_test(test_broken_input),
	    cmocka_unit_test(test_not_rsa),          cmocka_unit_test(test_verify_raw),
	    cmocka_unit_test(test_clear_null),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
