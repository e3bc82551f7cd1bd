/* Objects: who sees what before and after login (card and phone differ),
 * finding by template, C_GetAttributeValue's two-call pattern and its
 * codes, the refusals of a read-only token, and the CA certificates
 * shown only when the ca_certificates setting asks for them. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11fixture.h"
#include "testpki.h"

#define F T.f

static const CK_BBOOL yes = CK_TRUE;

static CK_ULONG count_all(CK_SESSION_HANDLE h)
{
	return p11t_count(h, NULL, 0);
}

static void test_visible_before_login(void **state)
{
	(void)state;
	/* A card shows its user-authentication certificate and key freely; a
	 * phone keeps them behind the PIN. The signature side is private on
	 * both. No CA certificate shows (ca_certificates is off). */
	CK_ULONG auth_public = T.persona == SIM_PERSONA_CARD ? 2 : 0;
	assert_int_equal(count_all(p11t_open(P11T_AUTH, false)), auth_public);
	assert_int_equal(count_all(p11t_open(P11T_SIGN, false)), 0);
	CK_SESSION_HANDLE h = p11t_open(P11T_AUTH, false);
	assert_int_equal(p11t_find(h, CKO_PRIVATE_KEY), CK_INVALID_HANDLE);
}

static void test_visible_after_login(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		CK_SESSION_HANDLE h = p11t_open(k, false);
		p11t_login(h, k);
		assert_int_equal(count_all(h), 3); /* key pair and certificate */
		assert_true(p11t_find(h, CKO_PRIVATE_KEY) != CK_INVALID_HANDLE);
		assert_true(p11t_find(h, CKO_PUBLIC_KEY) != CK_INVALID_HANDLE);
		assert_true(p11t_find(h, CKO_CERTIFICATE) != CK_INVALID_HANDLE);
	}
}

static void test_find_by_template(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h = p11t_open(P11T_SIGN, false);
	p11t_login(h, P11T_SIGN);
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, cert = CKO_CERTIFICATE, data = CKO_DATA;
	CK_KEY_TYPE rsa = CKK_RSA;
	CK_BYTE id2 = 2, id4 = 4, id1 = 1;
	const char *label = "Digital Signature Key";
	CK_ATTRIBUTE by_class_id[] = {{CKA_CLASS, &priv, sizeof(priv)}, {CKA_ID, &id2, 1}};
	CK_ATTRIBUTE by_id2[] = {{CKA_ID, &id2, 1}};
	CK_ATTRIBUTE ca[] = {{CKA_CLASS, &cert, sizeof(cert)}, {CKA_ID, &id4, 1}};
	CK_ATTRIBUTE other_id[] = {{CKA_ID, &id1, 1}};
	CK_ATTRIBUTE by_label[] = {{CKA_LABEL, (void *)label, strlen(label)}};
	CK_ATTRIBUTE by_type[] = {{CKA_KEY_TYPE, &rsa, sizeof(rsa)}};
	CK_ATTRIBUTE signers[] = {{CKA_SIGN, (void *)&yes, sizeof(yes)}};
	CK_ATTRIBUTE tokens[] = {{CKA_TOKEN, (void *)&yes, sizeof(yes)}};
	CK_ATTRIBUTE datas[] = {{CKA_CLASS, &data, sizeof(data)}};
	CK_BYTE secret[4] = {0};
	CK_ATTRIBUTE sensitive[] = {{CKA_PRIVATE_EXPONENT, secret, sizeof(secret)}};
	CK_ATTRIBUTE unknown[] = {{CKA_VENDOR_DEFINED | 0x4b5a, secret, 1}};
	CK_ATTRIBUTE wrong_size[] = {{CKA_CLASS, &priv, 1}};
	assert_int_equal(p11t_count(h, by_class_id, 2), 1);
	assert_int_equal(p11t_count(h, by_id2, 1), 3); /* key pair and certificate */
	assert_int_equal(p11t_count(h, ca, 2), 0);     /* the CA's: hidden */
	assert_int_equal(p11t_count(h, other_id, 1), 0);
	assert_int_equal(p11t_count(h, by_label, 1), 2);
	assert_int_equal(p11t_count(h, by_type, 1), 2);
	assert_int_equal(p11t_count(h, signers, 1), 1);
	assert_int_equal(p11t_count(h, tokens, 1), 3);
	assert_int_equal(p11t_count(h, datas, 1), 0);
	assert_int_equal(p11t_count(h, sensitive, 1), 0);
	assert_int_equal(p11t_count(h, unknown, 1), 0);
	assert_int_equal(p11t_count(h, wrong_size, 1), 0);

	/* A certificate found by its value, as NSS looks for it. */
	size_t der_len = 0;
	uint8_t *der = testpki_read(T.pki, "sign.der", &der_len);
	assert_non_null(der);
	CK_ATTRIBUTE by_value[] = {{CKA_CLASS, &cert, sizeof(cert)}, {CKA_VALUE, der, der_len}};
	assert_int_equal(p11t_count(h, by_value, 2), 1);
	free(der);
}

static void test_find_operation(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h = p11t_open(P11T_AUTH, false);
	p11t_login(h, P11T_AUTH);
	CK_OBJECT_HANDLE one;
	CK_ULONG n = 9;
	assert_int_equal(F->C_FindObjects(h, &one, 1, &n), CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(F->C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(F->C_FindObjectsInit(h, NULL, 1), CKR_ARGUMENTS_BAD);
	assert_int_equal(F->C_FindObjectsInit(h, NULL, 0), CKR_OK);
	assert_int_equal(F->C_FindObjectsInit(h, NULL, 0), CKR_OPERATION_ACTIVE);
	assert_int_equal(F->C_FindObjects(h, NULL, 1, &n), CKR_ARGUMENTS_BAD);
	/* One at a time, then nothing more. */
	CK_OBJECT_HANDLE seen[3];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(F->C_FindObjects(h, &seen[i], 1, &n), CKR_OK);
		assert_int_equal(n, 1);
		for (int j = 0; j < i; j++)
			assert_true(seen[i] != seen[j]);
	}
	assert_int_equal(F->C_FindObjects(h, &one, 1, &n), CKR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(F->C_FindObjectsFinal(h), CKR_OK);
}

static void test_value_two_calls(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h = p11t_open(P11T_AUTH, false);
	p11t_login(h, P11T_AUTH);
	CK_OBJECT_HANDLE cert = p11t_find(h, CKO_CERTIFICATE);
	CK_ATTRIBUTE a = {CKA_VALUE, NULL, 0};
	assert_int_equal(F->C_GetAttributeValue(h, cert, &a, 1), CKR_OK);
	size_t der_len = 0;
	uint8_t *der = testpki_read(T.pki, "auth.der", &der_len);
	assert_non_null(der);
	assert_int_equal(a.ulValueLen, der_len);

	uint8_t *buf = malloc(der_len);
	assert_non_null(buf);
	a.pValue = buf;
	a.ulValueLen = der_len - 1;
	assert_int_equal(F->C_GetAttributeValue(h, cert, &a, 1), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(a.ulValueLen, CK_UNAVAILABLE_INFORMATION);
	a.ulValueLen = der_len;
	assert_int_equal(F->C_GetAttributeValue(h, cert, &a, 1), CKR_OK);
	assert_int_equal(a.ulValueLen, der_len);
	assert_memory_equal(buf, der, der_len);
	free(buf);
	free(der);
}

/* Sensitive and unknown attributes are marked; the others still filled. */
static void test_mixed_template(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h = p11t_open(P11T_SIGN, false);
	p11t_login(h, P11T_SIGN);
	CK_OBJECT_HANDLE key = p11t_find(h, CKO_PRIVATE_KEY);
	CK_OBJECT_CLASS cls = 0;
	CK_BBOOL sign = CK_FALSE;
	CK_BYTE d[256];
	CK_BYTE junk[8];
	CK_ATTRIBUTE t[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_PRIVATE_EXPONENT, d, sizeof(d)},
	    {CKA_SIGN, &sign, sizeof(sign)},
	    {CKA_VENDOR_DEFINED | 0x4b5a, junk, sizeof(junk)},
	};
	CK_RV rv = F->C_GetAttributeValue(h, key, t, 4);
	assert_true(rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID);
	assert_int_equal(cls, CKO_PRIVATE_KEY);
	assert_int_equal(sign, CK_TRUE);
	assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(t[3].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(F->C_GetAttributeValue(h, key, t, 1), CKR_OK);
	assert_int_equal(F->C_GetAttributeValue(h, key, NULL, 1), CKR_ARGUMENTS_BAD);
}

static CK_BBOOL bool_attr(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = 0xAA;
	CK_ATTRIBUTE a = {type, &v, sizeof(v)};
	assert_int_equal(F->C_GetAttributeValue(h, o, &a, 1), CKR_OK);
	assert_int_equal(a.ulValueLen, sizeof(v));
	return v;
}

static void test_key_attributes(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		CK_SESSION_HANDLE h = p11t_open(k, false);
		p11t_login(h, k);
		CK_OBJECT_HANDLE key = p11t_find(h, CKO_PRIVATE_KEY);
		/* The signature key wants its password for every signature. */
		assert_int_equal(bool_attr(h, key, CKA_ALWAYS_AUTHENTICATE), k == P11T_SIGN);
		assert_int_equal(bool_attr(h, key, CKA_SENSITIVE), CK_TRUE);
		assert_int_equal(bool_attr(h, key, CKA_EXTRACTABLE), CK_FALSE);
		assert_int_equal(bool_attr(h, key, CKA_NEVER_EXTRACTABLE), CK_TRUE);
		assert_int_equal(bool_attr(h, key, CKA_PRIVATE), CK_TRUE);
		assert_int_equal(bool_attr(h, key, CKA_DECRYPT), CK_FALSE);
		assert_int_equal(bool_attr(h, key, CKA_MODIFIABLE), CK_FALSE);
		CK_ULONG bits = 0;
		CK_ATTRIBUTE a = {CKA_MODULUS_BITS, &bits, sizeof(bits)};
		assert_int_equal(F->C_GetAttributeValue(h, key, &a, 1), CKR_OK);
		assert_int_equal(bits, 2048);

		/* The certificate's privacy follows the model. */
		CK_OBJECT_HANDLE cert = p11t_find(h, CKO_CERTIFICATE);
		bool public_cert = k == P11T_AUTH && T.persona == SIM_PERSONA_CARD;
		assert_int_equal(bool_attr(h, cert, CKA_PRIVATE), !public_cert);
		assert_int_equal(bool_attr(h, cert, CKA_TRUSTED), CK_FALSE);
	}
}

/* The public key object's modulus is the certificate's. */
static void test_public_key_matches_certificate(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h = p11t_open(P11T_AUTH, false);
	p11t_login(h, P11T_AUTH);
	CK_OBJECT_HANDLE pub = p11t_find(h, CKO_PUBLIC_KEY);
	CK_BYTE modulus[512], exponent[8];
	CK_ATTRIBUTE t[] = {{CKA_MODULUS, modulus, sizeof(modulus)},
	                    {CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent)}};
	assert_int_equal(F->C_GetAttributeValue(h, pub, t, 2), CKR_OK);

	size_t der_len = 0;
	uint8_t *der = testpki_read(T.pki, "auth.der", &der_len);
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)der_len);
	assert_non_null(x);
	BIGNUM *n = NULL, *e = NULL;
	assert_true(EVP_PKEY_get_bn_param(X509_get0_pubkey(x), OSSL_PKEY_PARAM_RSA_N, &n));
	assert_true(EVP_PKEY_get_bn_param(X509_get0_pubkey(x), OSSL_PKEY_PARAM_RSA_E, &e));
	BIGNUM *got_n = BN_bin2bn(modulus, (int)t[0].ulValueLen, NULL);
	BIGNUM *got_e = BN_bin2bn(exponent, (int)t[1].ulValueLen, NULL);
	assert_int_equal(BN_cmp(n, got_n), 0);
	assert_int_equal(BN_cmp(e, got_e), 0);
	BN_free(n), BN_free(e), BN_free(got_n), BN_free(got_e);
	X509_free(x);
	free(der);
}

static void test_handles(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h = p11t_open(P11T_AUTH, false);
	CK_SESSION_HANDLE other = p11t_open(P11T_SIGN, false);
	p11t_login(h, P11T_AUTH);
	CK_OBJECT_HANDLE key = p11t_find(h, CKO_PRIVATE_KEY);
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
	/* Another token's object is not this session's. */
	assert_int_equal(F->C_GetAttributeValue(other, key, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	assert_int_equal(F->C_GetAttributeValue(h, 0xDEAD0, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	assert_int_equal(F->C_GetAttributeValue(h, CK_INVALID_HANDLE, &a, 1),
	                 CKR_OBJECT_HANDLE_INVALID);
	/* A private object's handle is gone with the login. */
	assert_int_equal(F->C_Logout(h), CKR_OK);
	assert_int_equal(F->C_GetAttributeValue(h, key, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	/* The signature certificate, once logged in, on every model. */
	h = p11t_open(P11T_SIGN, false);
	p11t_login(h, P11T_SIGN);
	CK_ULONG size = 0;
	CK_OBJECT_CLASS cert_class = CKO_CERTIFICATE;
	CK_ATTRIBUTE any_cert = {CKA_CLASS, &cert_class, sizeof(cert_class)};
	CK_OBJECT_HANDLE found;
	CK_ULONG n = 0;
	assert_int_equal(F->C_FindObjectsInit(h, &any_cert, 1), CKR_OK);
	assert_int_equal(F->C_FindObjects(h, &found, 1, &n), CKR_OK);
	assert_int_equal(F->C_FindObjectsFinal(h), CKR_OK);
	assert_true(n == 1);
	assert_int_equal(F->C_GetObjectSize(h, found, &size), CKR_OK);
	assert_int_equal(size, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(F->C_GetObjectSize(h, found, NULL), CKR_ARGUMENTS_BAD);
}

/* Every object is unmodifiable, uncopyable, indestructible. */
static void test_changes_refused(void **state)
{
	(void)state;
	CK_SESSION_HANDLE ro = p11t_open(P11T_AUTH, false);
	CK_SESSION_HANDLE rw = p11t_open(P11T_AUTH, true);
	p11t_login(rw, P11T_AUTH);
	CK_OBJECT_HANDLE key = p11t_find(rw, CKO_PRIVATE_KEY);
	const char *label = "mine";
	CK_ATTRIBUTE a = {CKA_LABEL, (void *)label, 4};
	CK_OBJECT_HANDLE copy;
	assert_int_equal(F->C_SetAttributeValue(rw, key, &a, 1), CKR_ACTION_PROHIBITED);
	assert_int_equal(F->C_SetAttributeValue(ro, key, &a, 1), CKR_SESSION_READ_ONLY);
	assert_int_equal(F->C_DestroyObject(rw, key), CKR_ACTION_PROHIBITED);
	assert_int_equal(F->C_DestroyObject(ro, key), CKR_SESSION_READ_ONLY);
	assert_int_equal(F->C_DestroyObject(rw, 0xDEAD0), CKR_OBJECT_HANDLE_INVALID);
	assert_int_equal(F->C_CopyObject(ro, key, &a, 1, &copy), CKR_ACTION_PROHIBITED);
	assert_int_equal(F->C_CopyObject(ro, key, &a, 1, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(count_all(rw), 3);
}

/* The token's CA certificate object (CKA_ID 3 or 4, category 2) of the
 * session, or CK_INVALID_HANDLE. */
static CK_OBJECT_HANDLE find_ca(CK_SESSION_HANDLE h, int token)
{
	CK_OBJECT_CLASS cert = CKO_CERTIFICATE;
	CK_BYTE id = (CK_BYTE)(3 + token);
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cert, sizeof(cert)}, {CKA_ID, &id, 1}};
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	assert_int_equal(F->C_FindObjectsInit(h, t, 2), CKR_OK);
	assert_int_equal(F->C_FindObjects(h, found, 2, &n), CKR_OK);
	assert_int_equal(F->C_FindObjectsFinal(h), CKR_OK);
	assert_true(n <= 1);
	return n == 1 ? found[0] : CK_INVALID_HANDLE;
}

/* ca_certificates = yes brings the CA certificate objects back, as before
 * the setting: the user-authentication CA's with the certificate it
 * issued, the signature CA's public. Turned off again, the same handles
 * are invalid, logged in or not. */
static void test_ca_certificates(void **state)
{
	(void)state;
	p11t_reinit("ca_certificates=yes");
	CK_ULONG auth_public = T.persona == SIM_PERSONA_CARD ? 3 : 0;
	assert_int_equal(count_all(p11t_open(P11T_AUTH, false)), auth_public);
	assert_int_equal(count_all(p11t_open(P11T_SIGN, false)), 1);
	CK_OBJECT_HANDLE ca[2];
	for (int k = 0; k < 2; k++) {
		CK_SESSION_HANDLE h = p11t_open(k, false);
		p11t_login(h, k);
		assert_int_equal(count_all(h), 4);
		ca[k] = find_ca(h, k);
		assert_true(ca[k] != CK_INVALID_HANDLE);
		CK_ULONG category = 0;
		CK_BYTE der[4096];
		CK_ATTRIBUTE t[] = {{CKA_CERTIFICATE_CATEGORY, &category, sizeof(category)},
		                    {CKA_VALUE, der, sizeof(der)}};
		assert_int_equal(F->C_GetAttributeValue(h, ca[k], t, 2), CKR_OK);
		assert_int_equal(category, 2); /* authority */
		size_t want_len = 0;
		uint8_t *want =
		    testpki_read(T.pki, k == P11T_AUTH ? "authca.der" : "signca.der", &want_len);
		assert_non_null(want);
		assert_int_equal(t[1].ulValueLen, want_len);
		assert_memory_equal(der, want, want_len);
		free(want);
		assert_int_equal(bool_attr(h, ca[k], CKA_PRIVATE),
		                 k == P11T_AUTH && T.persona != SIM_PERSONA_CARD);
	}

	/* The slots keep their ids, so the handles name the same objects. */
	CK_SLOT_ID before[2] = {T.slot[0], T.slot[1]};
	p11t_reinit("ca_certificates=no");
	assert_memory_equal(before, T.slot, sizeof(before));
	for (int k = 0; k < 2; k++) {
		CK_SESSION_HANDLE h = p11t_open(k, false);
		p11t_login(h, k);
		assert_int_equal(count_all(h), 3);
		assert_int_equal(find_ca(h, k), CK_INVALID_HANDLE);
		CK_OBJECT_CLASS cls = 0;
		CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
		assert_int_equal(F->C_GetAttributeValue(h, ca[k], &a, 1),
		                 CKR_OBJECT_HANDLE_INVALID);
		CK_ULONG size = 0;
		assert_int_equal(F->C_GetObjectSize(h, ca[k], &size), CKR_OBJECT_HANDLE_INVALID);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    P11T_BOTH(test_visible_before_login),
	    P11T_BOTH(test_visible_after_login),
	    P11T_BOTH(test_find_by_template),
	    P11T_BOTH(test_find_operation),
	    P11T_BOTH(test_value_two_calls),
	    P11T_BOTH(test_mixed_template),
	    P11T_BOTH(test_key_attributes),
	    P11T_BOTH(test_public_key_matches_certificate),
	    P11T_BOTH(test_handles),
	    P11T_BOTH(test_changes_refused),
	    P11T_BOTH(test_ca_certificates),
	};
	return p11t_run("p11-object", tests, KZ_ARRAY_LEN(tests));
}
