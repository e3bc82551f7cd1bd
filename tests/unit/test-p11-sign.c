/* Signing: every mechanism single- and multi-part, verified with OpenSSL
 * against the certificate; the two-call pattern; argument and state
 * errors; the signature key's context login (CKA_ALWAYS_AUTHENTICATE),
 * including Thunderbird's C_GetTokenInfo between login and signature. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "backend.h"
#include "p11fixture.h"

#define F      T.f
#define PIN(s) (CK_UTF8CHAR_PTR)(s), (CK_ULONG)strlen(s)

static const struct {
	CK_MECHANISM_TYPE type;
	const char *md;
} hashed[] = {
    {CKM_SHA1_RSA_PKCS, "SHA1"},     {CKM_SHA224_RSA_PKCS, "SHA224"},
    {CKM_SHA256_RSA_PKCS, "SHA256"}, {CKM_SHA384_RSA_PKCS, "SHA384"},
    {CKM_SHA512_RSA_PKCS, "SHA512"},
};

/* A SHA-256 DigestInfo of "abc", for CKM_RSA_PKCS. */
static const CK_BYTE digest_info[] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
    0x02, 0x01, 0x05, 0x00, 0x04, 0x20, 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf,
    0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3,
    0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};

static CK_BYTE message[3000];

typedef struct signer {
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE key;
	int token;
} signer;

/* A session of the token, logged in, with its private key found. For the
 * signature key the password of C_Login authorises one signature: it is
 * spent here, so that what follows needs its context-specific login. */
static signer logged_in(int token)
{
	signer s = {p11t_open(token, false), 0, token};
	p11t_login(s.h, token);
	s.key = p11t_find(s.h, CKO_PRIVATE_KEY);
	assert_true(s.key != CK_INVALID_HANDLE);
	for (size_t i = 0; i < sizeof(message); i++)
		message[i] = (CK_BYTE)(i * 7 + 3);
	if (token == P11T_SIGN) {
		CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
		CK_BYTE sig[256];
		CK_ULONG len = sizeof(sig);
		assert_int_equal(F->C_SignInit(s.h, &mech, s.key), CKR_OK);
		assert_int_equal(F->C_Sign(s.h, message, 32, sig, &len), CKR_OK);
		assert_true(p11t_verifies(P11T_SIGN, "SHA256", message, 32, sig, len));
	}
	return s;
}

static void init(const signer *s, CK_MECHANISM_TYPE type)
{
	CK_MECHANISM mech = {type, NULL, 0};
	assert_int_equal(F->C_SignInit(s->h, &mech, s->key), CKR_OK);
}

/* The signature key: the password again, for this operation. */
static void context_login(const signer *s)
{
	const char *pin = p11t_pin[s->token];
	assert_int_equal(F->C_Login(s->h, CKU_CONTEXT_SPECIFIC, PIN(pin)), CKR_OK);
}

static void sign_all_mechanisms(int token)
{
	signer s = logged_in(token);
	for (size_t m = 0; m < KZ_ARRAY_LEN(hashed); m++) {
		CK_BYTE sig[256];
		CK_ULONG len = sizeof(sig);
		init(&s, hashed[m].type);
		if (token == P11T_SIGN)
			context_login(&s);
		assert_int_equal(F->C_Sign(s.h, message, 100, sig, &len), CKR_OK);
		assert_int_equal(len, 256);
		assert_true(p11t_verifies(token, hashed[m].md, message, 100, sig, len));

		/* Multi-part, in uneven pieces. */
		init(&s, hashed[m].type);
		assert_int_equal(F->C_SignUpdate(s.h, message, 1), CKR_OK);
		assert_int_equal(F->C_SignUpdate(s.h, message + 1, 0), CKR_OK);
		assert_int_equal(F->C_SignUpdate(s.h, message + 1, 1999), CKR_OK);
		assert_int_equal(F->C_SignUpdate(s.h, message + 2000, 1000), CKR_OK);
		if (token == P11T_SIGN)
			context_login(&s);
		len = sizeof(sig);
		assert_int_equal(F->C_SignFinal(s.h, sig, &len), CKR_OK);
		assert_true(p11t_verifies(token, hashed[m].md, message, sizeof(message), sig, len));
	}
	/* CKM_RSA_PKCS signs what it is given: here a DigestInfo. */
	CK_BYTE sig[256];
	CK_ULONG len = sizeof(sig);
	init(&s, CKM_RSA_PKCS);
	if (token == P11T_SIGN)
		context_login(&s);
	assert_int_equal(F->C_Sign(s.h, (CK_BYTE_PTR)digest_info, sizeof(digest_info), sig, &len),
	                 CKR_OK);
	assert_true(p11t_verifies(token, NULL, digest_info, sizeof(digest_info), sig, len));
}

static void test_sign_auth(void **state)
{
	(void)state;
	sign_all_mechanisms(P11T_AUTH);
}

static void test_sign_sign(void **state)
{
	(void)state;
	sign_all_mechanisms(P11T_SIGN);
}

/* The two-call pattern leaves the operation as it was. */
static void test_two_calls(void **state)
{
	(void)state;
	signer s = logged_in(P11T_AUTH);
	CK_BYTE sig[256];
	CK_ULONG len = 0;
	init(&s, CKM_SHA256_RSA_PKCS);
	assert_int_equal(F->C_Sign(s.h, message, 10, NULL, &len), CKR_OK);
	assert_int_equal(len, 256);
	len = 10;
	assert_int_equal(F->C_Sign(s.h, message, 10, sig, &len), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(len, 256);
	assert_int_equal(F->C_Sign(s.h, message, 10, sig, &len), CKR_OK);
	assert_true(p11t_verifies(P11T_AUTH, "SHA256", message, 10, sig, len));
	/* The signature ended the operation. */
	assert_int_equal(F->C_Sign(s.h, message, 10, sig, &len), CKR_OPERATION_NOT_INITIALIZED);

	init(&s, CKM_SHA384_RSA_PKCS);
	assert_int_equal(F->C_SignUpdate(s.h, message, 50), CKR_OK);
	len = 0;
	assert_int_equal(F->C_SignFinal(s.h, NULL, &len), CKR_OK);
	assert_int_equal(len, 256);
	len = 255;
	assert_int_equal(F->C_SignFinal(s.h, sig, &len), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(F->C_SignFinal(s.h, sig, &len), CKR_OK);
	assert_true(p11t_verifies(P11T_AUTH, "SHA384", message, 50, sig, len));
	assert_int_equal(F->C_SignFinal(s.h, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
}

static void test_sign_init_errors(void **state)
{
	(void)state;
	signer s = logged_in(P11T_AUTH);
	CK_OBJECT_HANDLE pub = p11t_find(s.h, CKO_PUBLIC_KEY);
	CK_OBJECT_HANDLE cert = p11t_find(s.h, CKO_CERTIFICATE);
	CK_MECHANISM pss = {CKM_SHA256_RSA_PKCS_PSS, NULL, 0};
	CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
	CK_BYTE param[4] = {0};
	CK_MECHANISM with_param = {CKM_SHA256_RSA_PKCS, param, sizeof(param)};
	CK_MECHANISM ok = {CKM_SHA256_RSA_PKCS, NULL, 0};
	assert_int_equal(F->C_SignInit(s.h, NULL, s.key), CKR_ARGUMENTS_BAD);
	assert_int_equal(F->C_SignInit(s.h, &pss, s.key), CKR_MECHANISM_INVALID);
	assert_int_equal(F->C_SignInit(s.h, &ecdsa, s.key), CKR_MECHANISM_INVALID);
	assert_int_equal(F->C_SignInit(s.h, &with_param, s.key), CKR_MECHANISM_PARAM_INVALID);
	assert_int_equal(F->C_SignInit(s.h, &ok, pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
	assert_int_equal(F->C_SignInit(s.h, &ok, cert), CKR_KEY_HANDLE_INVALID);
	assert_int_equal(F->C_SignInit(s.h, &ok, 0xDEAD0), CKR_KEY_HANDLE_INVALID);

	CK_BYTE sig[256];
	CK_ULONG len = sizeof(sig);
	assert_int_equal(F->C_Sign(s.h, message, 1, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(F->C_SignUpdate(s.h, message, 1), CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(F->C_SignFinal(s.h, sig, &len), CKR_OPERATION_NOT_INITIALIZED);

	assert_int_equal(F->C_SignInit(s.h, &ok, s.key), CKR_OK);
	assert_int_equal(F->C_SignInit(s.h, &ok, s.key), CKR_OPERATION_ACTIVE);
	assert_int_equal(F->C_SignUpdate(s.h, message, 1), CKR_OK);
	/* C_Sign cannot finish a multi-part operation. */
	assert_int_equal(F->C_Sign(s.h, message, 1, sig, &len), CKR_OPERATION_ACTIVE);
	assert_int_equal(F->C_SignFinal(s.h, sig, &len), CKR_OK);

	/* Logged out, the key is no longer there to use. */
	assert_int_equal(F->C_Logout(s.h), CKR_OK);
	assert_int_equal(F->C_SignInit(s.h, &ok, s.key), CKR_USER_NOT_LOGGED_IN);
}

static void test_raw_lengths(void **state)
{
	(void)state;
	signer s = logged_in(P11T_AUTH);
	CK_BYTE sig[256];
	CK_ULONG len = sizeof(sig);
	/* PKCS#1 v1.5 leaves 245 bytes of a 2048-bit block for the input. */
	init(&s, CKM_RSA_PKCS);
	assert_int_equal(F->C_Sign(s.h, message, 246, sig, &len), CKR_DATA_LEN_RANGE);
	init(&s, CKM_RSA_PKCS);
	assert_int_equal(F->C_Sign(s.h, message, 0, sig, &len), CKR_DATA_LEN_RANGE);
	init(&s, CKM_RSA_PKCS);
	assert_int_equal(F->C_SignUpdate(s.h, message, 200), CKR_OK);
	assert_int_equal(F->C_SignUpdate(s.h, message, 46), CKR_OK);
	assert_int_equal(F->C_SignFinal(s.h, sig, &len), CKR_DATA_LEN_RANGE);
}

/* CKA_ALWAYS_AUTHENTICATE: no signature without the password for it. */
static void test_always_authenticate(void **state)
{
	(void)state;
	signer s = logged_in(P11T_SIGN);
	CK_BYTE sig[256];
	CK_ULONG len = sizeof(sig);
	init(&s, CKM_SHA256_RSA_PKCS);
	/* The length is known without it; the signature is not. */
	assert_int_equal(F->C_Sign(s.h, message, 10, NULL, &len), CKR_OK);
	assert_int_equal(F->C_Sign(s.h, message, 10, sig, &len), CKR_USER_NOT_LOGGED_IN);
	/* The operation waits for the password. */
	assert_int_equal(F->C_Login(s.h, CKU_CONTEXT_SPECIFIC, PIN("ABC12")), CKR_PIN_LEN_RANGE);
	context_login(&s);
	assert_int_equal(F->C_Sign(s.h, message, 10, sig, &len), CKR_OK);
	assert_true(p11t_verifies(P11T_SIGN, "SHA256", message, 10, sig, len));
	/* The next signature wants it again; the session stays logged in. */
	assert_int_equal(p11t_state(s.h), CKS_RO_USER_FUNCTIONS);
	init(&s, CKM_SHA256_RSA_PKCS);
	assert_int_equal(F->C_Sign(s.h, message, 10, sig, &len), CKR_USER_NOT_LOGGED_IN);
	context_login(&s);
	assert_int_equal(F->C_Sign(s.h, message, 10, sig, &len), CKR_OK);

	/* The user-authentication key does not want it, but may have it. */
	signer a = logged_in(P11T_AUTH);
	init(&a, CKM_SHA256_RSA_PKCS);
	context_login(&a);
	assert_int_equal(F->C_Sign(a.h, message, 10, sig, &len), CKR_OK);
}

/* SunPKCS11 (Java) logs in and signs, and never does the context-specific
 * login: the password of C_Login authorises the first signature after it,
 * and that one only. */
static void test_login_authorises_one_signature(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h = p11t_open(P11T_SIGN, false);
	p11t_login(h, P11T_SIGN);
	signer s = {h, p11t_find(h, CKO_PRIVATE_KEY), P11T_SIGN};
	CK_BYTE sig[256];
	CK_ULONG len = sizeof(sig);
	init(&s, CKM_SHA256_RSA_PKCS);
	assert_int_equal(F->C_Sign(s.h, message, 10, sig, &len), CKR_OK);
	assert_true(p11t_verifies(P11T_SIGN, "SHA256", message, 10, sig, len));
	init(&s, CKM_SHA256_RSA_PKCS);
	assert_int_equal(F->C_Sign(s.h, message, 10, sig, &len), CKR_USER_NOT_LOGGED_IN);
	context_login(&s);
	assert_int_equal(F->C_Sign(s.h, message, 10, sig, &len), CKR_OK);
	/* A logout spends it too. */
	assert_int_equal(F->C_Logout(h), CKR_OK);
	p11t_login(h, P11T_SIGN);
	assert_int_equal(F->C_Logout(h), CKR_OK);
	p11t_login(h, P11T_SIGN);
	init(&s, CKM_SHA256_RSA_PKCS);
	assert_int_equal(F->C_Sign(s.h, message, 10, sig, &len), CKR_OK);
}

/* Thunderbird logs in for the context, then asks for the token info,
 * then signs: the info must come from state, not from the phone, and
 * must not lose the verified password. */
static void test_thunderbird_pattern(void **state)
{
	(void)state;
	signer s = logged_in(P11T_SIGN);
	CK_BYTE sig[256];
	CK_ULONG len = sizeof(sig);
	init(&s, CKM_SHA256_RSA_PKCS);
	context_login(&s);
	unsigned long sent = T.external ? 0 : p11t_transmits();
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO si;
	CK_SLOT_INFO sl;
	CK_ULONG n = 0;
	assert_int_equal(F->C_GetTokenInfo(T.slot[P11T_SIGN], &ti), CKR_OK);
	assert_int_equal(F->C_GetSessionInfo(s.h, &si), CKR_OK);
	assert_int_equal(F->C_GetSlotInfo(T.slot[P11T_SIGN], &sl), CKR_OK);
	assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	assert_int_equal(F->C_GetTokenInfo(T.slot[P11T_SIGN], &ti), CKR_OK);
	if (!T.external)
		assert_int_equal(p11t_transmits(), sent);
	assert_int_equal(F->C_Sign(s.h, message, 64, sig, &len), CKR_OK);
	assert_true(p11t_verifies(P11T_SIGN, "SHA256", message, 64, sig, len));
}

/* The same, multi-part: the login may come after the data. */
static void test_multipart_context_login(void **state)
{
	(void)state;
	signer s = logged_in(P11T_SIGN);
	CK_BYTE sig[256];
	CK_ULONG len = sizeof(sig);
	init(&s, CKM_SHA512_RSA_PKCS);
	assert_int_equal(F->C_SignUpdate(s.h, message, 1000), CKR_OK);
	assert_int_equal(F->C_SignFinal(s.h, sig, &len), CKR_USER_NOT_LOGGED_IN);
	assert_int_equal(F->C_SignUpdate(s.h, message + 1000, 1000), CKR_OK);
	context_login(&s);
	CK_TOKEN_INFO ti;
	assert_int_equal(F->C_GetTokenInfo(T.slot[P11T_SIGN], &ti), CKR_OK);
	assert_int_equal(F->C_SignFinal(s.h, sig, &len), CKR_OK);
	assert_true(p11t_verifies(P11T_SIGN, "SHA512", message, 2000, sig, len));
}

/* PKCS#11 3.0's C_SessionCancel ends the operations it names. */
static void test_session_cancel(void **state)
{
	(void)state;
	CK_FUNCTION_LIST_3_0 *f3 = p11t_list_3_0();
	if (f3 == NULL)
		skip();
	signer s = logged_in(P11T_AUTH);
	CK_BYTE sig[256];
	CK_ULONG len = sizeof(sig);
	CK_OBJECT_HANDLE o;
	CK_ULONG n;
	init(&s, CKM_SHA256_RSA_PKCS);
	assert_int_equal(F->C_FindObjectsInit(s.h, NULL, 0), CKR_OK);
	assert_int_equal(f3->C_SessionCancel(s.h, CKF_SIGN), CKR_OK);
	assert_int_equal(F->C_Sign(s.h, message, 1, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(F->C_FindObjects(s.h, &o, 1, &n), CKR_OK);
	assert_int_equal(f3->C_SessionCancel(s.h, CKF_FIND_OBJECTS | CKF_DECRYPT), CKR_OK);
	assert_int_equal(F->C_FindObjects(s.h, &o, 1, &n), CKR_OPERATION_NOT_INITIALIZED);
	init(&s, CKM_SHA256_RSA_PKCS);
	assert_int_equal(F->C_Sign(s.h, message, 1, sig, &len), CKR_OK);
	assert_int_equal(f3->C_SessionCancel(s.h + 1000, CKF_SIGN), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(f3->C_MessageSignInit(s.h, NULL, s.key), CKR_FUNCTION_NOT_SUPPORTED);
}

/* The phone leaves between C_SignInit and C_Sign. */
static void test_removed_mid_operation(void **state)
{
	(void)state;
	p11t_need_control();
	signer s = logged_in(P11T_AUTH);
	CK_BYTE sig[256];
	CK_ULONG len = sizeof(sig);
	init(&s, CKM_SHA256_RSA_PKCS);
	sim_backend_leave();
	CK_RV rv = F->C_Sign(s.h, message, 10, sig, &len);
	assert_true(rv == CKR_DEVICE_REMOVED || rv == CKR_SESSION_HANDLE_INVALID);
	sim_backend_tap();
	signer again = logged_in(P11T_AUTH);
	init(&again, CKM_SHA256_RSA_PKCS);
	assert_int_equal(F->C_Sign(again.h, message, 10, sig, &len), CKR_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    P11T_BOTH(test_sign_auth),
	    P11T_BOTH(test_sign_sign),
	    P11T_BOTH(test_two_calls),
	    P11T_BOTH(test_sign_init_errors),
	    P11T_BOTH(test_raw_lengths),
	    P11T_BOTH(test_always_authenticate),
	    P11T_BOTH(test_thunderbird_pattern),
	    P11T_BOTH(test_multipart_context_login),
	    P11T_BOTH(test_session_cancel),
	    P11T_BOTH(test_removed_mid_operation),
	    P11T_BOTH(test_login_authorises_one_signature),
	};
	return p11t_run("p11-sign", tests, KZ_ARRAY_LEN(tests));
}
