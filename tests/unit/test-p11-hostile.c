/* Hostile phones through the PKCS#11 entry points. A phone is an untrusted
 * device: each kind of lying answer (no data, no status word, nothing, 61xx
 * or 6Cxx forever, more than was asked for, a certificate header that
 * claims too much, a signature too short, too long or not the key's, token
 * info of any length, random bytes anywhere) is told here at the points of
 * a relying party's flow where it hurts: arrival, certificate reads, VERIFY,
 * signing. Each must end in a clean PKCS#11 error, never CKR_GENERAL_ERROR;
 * loops over status words are bounded (counted here); a signature reaches
 * the caller only when it is the key's; and the next honest tap works.
 *
 * The phone is the in-process simulated phone behind a function that
 * replaces some of its answers (sim_backend_use_function). */
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

#include "backend.h"
#include "phone.h"
#include "pkcs11/p11.h"
#include "testpki.h"

#define INS_VERIFY       0x20
#define INS_SIGN         0x2A
#define INS_SELECT       0xA4
#define INS_READ         0xB0
#define INS_GET_RESPONSE 0xC0
#define ANY_INS          0x100

#define AUTH 0 /* token (and slot id): user authentication */
#define SIGN 1 /* digital signature */

/* How many GET RESPONSEs one command may cost at most (jpki.c bounds it at
 * 8); and a generous bound on the APDUs of one call, for "no hang". */
#define GET_RESPONSE_BOUND 8
#define CALL_APDU_BOUND    64

static const char *const pins[2] = {"1234", "ABC123"};
static const uint16_t ca_fid[2] = {0x000B, 0x0002};
static const uint16_t key_fid[2] = {0x0017, 0x001A};
static const uint16_t pin_fid[2] = {0x0018, 0x001B};

/* A SHA-256 DigestInfo, signed as is with CKM_RSA_PKCS. */
static const CK_BYTE digest_info[] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
    0x02, 0x01, 0x05, 0x00, 0x04, 0x20, 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf,
    0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3,
    0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};

/* ---- the lying phone --------------------------------------------------- */

/* One lie: the answer given instead of the phone's. */
typedef struct lie {
	int ins;       /* the command lied to, ANY_INS: every one */
	int fid;       /* ... only with this EF selected; -1: any */
	int from;      /* ... only from the n-th command of the tap on; 0: any */
	int count;     /* how many times; -1: forever */
	bool with_pin; /* VERIFY: only the one carrying a PIN, not the tries query */
	bool gr_too;   /* GET RESPONSEs get the same answer */
	const uint8_t *resp;
	size_t len;
	size_t claim;  /* non-zero: report this length, more than the buffer holds */
	bool plus_one; /* the phone's own answer with one data byte more */
	bool at_end;   /* READ BINARY at offset >= 0x200 only (past a short file) */
} lie;

typedef struct hostile {
	sim_phone *phone;
	lie lies[2];             /* the first that applies is told */
	int fid;                 /* the EF the last SELECT named; -1 after the AP's */
	unsigned long n;         /* commands since the tap */
	unsigned long sent[256]; /* commands since the tap, by INS */
	unsigned long with_pin;  /* VERIFYs that carried a PIN */
	/* Random answers (test_random_anywhere): at command random_at. */
	unsigned long random_at;
	uint32_t rng;
	/* No answer at all from command leave_at on: the phone left. */
	unsigned long leave_at;
} hostile;

static hostile H;
static CK_FUNCTION_LIST *F;
static char *pki;
static sim_persona android = SIM_PERSONA_ANDROID, card = SIM_PERSONA_CARD;

static uint32_t rnd(void)
{
	/* xorshift32: reproducible from the seed, no libc state. */
	uint32_t x = H.rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return H.rng = x;
}

static bool lie_applies(const lie *l, int ins, size_t cmd_len, const uint8_t *cmd)
{
	if (l->count == 0)
		return false;
	if (l->ins != ANY_INS && l->ins != ins && !(l->gr_too && ins == INS_GET_RESPONSE))
		return false;
	if (l->fid >= 0 && l->fid != H.fid && ins != INS_GET_RESPONSE)
		return false;
	if (l->from > 0 && H.n < (unsigned long)l->from)
		return false;
	if (l->with_pin && cmd_len <= 5)
		return false;
	if (l->at_end && (cmd_len < 4 || ((size_t)cmd[2] << 8 | cmd[3]) < 0x200))
		return false;
	return true;
}

/* Random bytes, often ending in a status word a card could give. */
static size_t random_answer(uint8_t *resp, size_t cap, size_t *claim)
{
	static const uint16_t sws[] = {0x9000, 0x6282, 0x6100, 0x6110, 0x6C10, 0x63C0,
	                               0x63C2, 0x6982, 0x6984, 0x6A82, 0x6B00, 0x6700};
	size_t len;
	switch (rnd() % 5) {
	case 0:
		len = rnd() % 4;
		break;
	case 1:
		len = rnd() % 40;
		break;
	case 2:
		len = 250 + rnd() % 9;
		break;
	case 3:
		*claim = cap + 1 + rnd() % 16;
		return 0;
	default:
		len = rnd() % 259;
		break;
	}
	if (len > cap)
		len = cap;
	for (size_t i = 0; i < len; i++)
		resp[i] = (uint8_t)rnd();
	if (len >= 2 && rnd() % 2) {
		uint16_t sw = sws[rnd() % KZ_ARRAY_LEN(sws)];
		resp[len - 2] = (uint8_t)(sw >> 8);
		resp[len - 1] = (uint8_t)sw;
	}
	return len;
}

static bool answer(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
	hostile *h = ctx;
	int ins = cmd_len >= 2 ? cmd[1] : -1;
	h->n++;
	if (ins >= 0)
		h->sent[ins]++;
	if (ins == INS_VERIFY && cmd_len > 5)
		h->with_pin++;
	if (ins == INS_SELECT && cmd_len >= 7 && cmd[2] == 0x02)
		h->fid = cmd[5] << 8 | cmd[6];
	else if (ins == INS_SELECT)
		h->fid = -1;

	if (h->leave_at != 0 && h->n >= h->leave_at)
		return false;
	if (h->random_at != 0 && h->n == h->random_at) {
		size_t claim = 0;
		size_t n = random_answer(resp, *resp_len, &claim);
		*resp_len = claim != 0 ? claim : n;
		return true;
	}
	lie *l = &h->lies[0];
	if (!lie_applies(l, ins, cmd_len, cmd))
		l = &h->lies[1];
	if (lie_applies(l, ins, cmd_len, cmd) && !l->plus_one) {
		if (l->count > 0)
			l->count--;
		if (l->claim != 0) {
			/* Nothing written: the module must not read past what
			 * its buffer holds, whatever length is reported. */
			*resp_len = l->claim;
			return true;
		}
		assert_true(l->len <= *resp_len);
		memcpy(resp, l->resp, l->len);
		*resp_len = l->len;
		return true;
	}
	static uint8_t buf[SIM_RESP_MAX];
	size_t n = 0;
	if (!sim_phone_transmit(h->phone, cmd, cmd_len, buf, &n))
		return false;
	/* A short answer only: one byte more than 256 would not fit the
	 * buffer, which is test_longer_than_buffer's case. */
	if (lie_applies(l, ins, cmd_len, cmd) && l->plus_one && n >= 2 && n - 2 < 256) {
		if (l->count > 0)
			l->count--;
		memmove(buf + n - 1, buf + n - 2, 2);
		buf[n - 2] = 0x5A; /* one byte more than the phone had */
		n++;
	}
	if (n > *resp_len) {
		*resp_len = n; /* reported, not written: too long for the module */
		return true;
	}
	memcpy(resp, buf, n);
	*resp_len = n;
	return true;
}

static void lie_none(void)
{
	memset(H.lies, 0, sizeof H.lies);
	H.random_at = 0;
	H.leave_at = 0;
}

static void lie_set(lie l)
{
	H.lies[0] = l;
}

/* A second lie, told where the first does not apply. */
static void lie_add(lie l)
{
	H.lies[1] = l;
}

/* A new tap of the same phone: its state reset, the counts too. */
static void tap(void)
{
	sim_phone_reset(H.phone);
	H.n = 0;
	H.with_pin = 0;
	H.fid = -1;
	memset(H.sent, 0, sizeof H.sent);
	sim_backend_tap();
}

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
	sim_config cfg = {.persona = *(sim_persona *)*state, .pki_dir = pki};
	memset(&H, 0, sizeof H);
	H.phone = sim_phone_new(&cfg);
	assert_non_null(H.phone);
	sim_backend_install();
	sim_backend_use_function(answer, &H);
	tap();
	/* The process-wide certificate cache would answer reads of earlier
	 * tests from memory: every read here goes to the (lying) phone. The
	 * CA certificates are shown: their reads are lied to as well. */
	CK_C_INITIALIZE_ARGS args = {.pReserved =
	                                 "certificate_cache=no ca_certificates=yes log_level=none"};
	assert_int_equal(F->C_Initialize(&args), CKR_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
	sim_backend_leave();
	sim_backend_use_phone(NULL);
	sim_phone_free(H.phone);
	H.phone = NULL;
	return 0;
}

/* ---- PKCS#11 helpers ---------------------------------------------------- */

/* Never acceptable from a module whatever the phone says: the caller did
 * nothing wrong, and the host is not out of memory. */
static void rv_clean(CK_RV rv)
{
	assert_int_not_equal(rv, CKR_GENERAL_ERROR);
	assert_int_not_equal(rv, CKR_FUNCTION_FAILED);
	assert_int_not_equal(rv, CKR_HOST_MEMORY);
	assert_int_not_equal(rv, CKR_ARGUMENTS_BAD);
}

static CK_ULONG tokens_present(void)
{
	CK_ULONG n = 0;
	assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	return n;
}

/* The phone's tokens are there after an honest tap. */
static void honest_tap(void)
{
	lie_none();
	tap();
	assert_int_equal(tokens_present(), 2);
}

static void no_token(void)
{
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO si;
	assert_int_equal(tokens_present(), 0);
	for (CK_SLOT_ID s = 0; s < 2; s++) {
		assert_int_equal(F->C_GetTokenInfo(s, &ti), CKR_TOKEN_NOT_PRESENT);
		assert_int_equal(F->C_GetSlotInfo(s, &si), CKR_OK);
		assert_false(si.flags & CKF_TOKEN_PRESENT);
	}
	CK_SESSION_HANDLE h;
	assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
	                 CKR_TOKEN_NOT_PRESENT);
}

static CK_SESSION_HANDLE open_session(int token)
{
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	assert_int_equal(F->C_OpenSession((CK_SLOT_ID)token, CKF_SERIAL_SESSION, NULL, NULL, &h),
	                 CKR_OK);
	return h;
}

static CK_RV login(CK_SESSION_HANDLE h, int token, CK_USER_TYPE who)
{
	return F->C_Login(h, who, (CK_UTF8CHAR_PTR)pins[token], strlen(pins[token]));
}

static CK_OBJECT_HANDLE find(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, CK_BYTE id)
{
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, &id, 1}};
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
	CK_ULONG n = 0;
	assert_int_equal(F->C_FindObjectsInit(h, tmpl, 2), CKR_OK);
	assert_int_equal(F->C_FindObjects(h, &o, 1, &n), CKR_OK);
	assert_int_equal(F->C_FindObjectsFinal(h), CKR_OK);
	return n == 1 ? o : CK_INVALID_HANDLE;
}

/* CKA_VALUE of a certificate object (id 1/2 the token's, 3/4 its CA's). */
static CK_RV cert_value(CK_SESSION_HANDLE h, CK_BYTE id, uint8_t *out, CK_ULONG *len)
{
	CK_OBJECT_HANDLE o = find(h, CKO_CERTIFICATE, id);
	assert_true(o != CK_INVALID_HANDLE);
	CK_ATTRIBUTE a = {CKA_VALUE, out, *len};
	CK_RV rv = F->C_GetAttributeValue(h, o, &a, 1);
	*len = a.ulValueLen;
	return rv;
}

/* The certificate is the one in the PKI, byte for byte. */
static void cert_is(const char *file, const uint8_t *der, CK_ULONG len)
{
	size_t want_len = 0;
	uint8_t *want = testpki_read(pki, file, &want_len);
	assert_non_null(want);
	assert_int_equal(len, want_len);
	assert_memory_equal(der, want, want_len);
	free(want);
}

static const char *ca_file(int token)
{
	return token == AUTH ? "authca.der" : "signca.der";
}

static const char *cert_file(int token)
{
	return token == AUTH ? "auth.der" : "sign.der";
}

static const char *key_file(int token)
{
	return token == AUTH ? "auth.key.pem" : "sign.key.pem";
}

/* C_SignInit with CKM_RSA_PKCS, and for the signature key its password
 * again (CKA_ALWAYS_AUTHENTICATE). */
static void sign_init(CK_SESSION_HANDLE h, int token)
{
	CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
	CK_OBJECT_HANDLE key = find(h, CKO_PRIVATE_KEY, (CK_BYTE)(token + 1));
	assert_true(key != CK_INVALID_HANDLE);
	assert_int_equal(F->C_SignInit(h, &m, key), CKR_OK);
	if (token == SIGN)
		assert_int_equal(login(h, token, CKU_CONTEXT_SPECIFIC), CKR_OK);
}

/* sig verifies as PKCS#1 v1.5 over digest_info under the PKI's certificate
 * of the token. */
static bool verifies(int token, const uint8_t *sig, size_t sig_len)
{
	size_t der_len = 0;
	uint8_t *der = testpki_read(pki, cert_file(token), &der_len);
	assert_non_null(der);
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)der_len);
	free(der);
	assert_non_null(x);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(X509_get0_pubkey(x), NULL);
	bool ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
	          EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	          EVP_PKEY_verify(ctx, sig, sig_len, digest_info, sizeof digest_info) == 1;
	EVP_PKEY_CTX_free(ctx);
	X509_free(x);
	return ok;
}

/* A genuine PKCS#1 v1.5 signature of digest_info, by the other token's key. */
static void sign_with_other_key(int token, uint8_t sig[256])
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", pki, key_file(1 - token));
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(key);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t len = 256;
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_sign(ctx, sig, &len, digest_info, sizeof digest_info), 1);
	assert_int_equal(len, 256);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key);
}

/* ---- where the lies are told -------------------------------------------- */

/* How many APDUs an honest arrival costs (SELECT, token info, PIN tries). */
static unsigned long arrival_apdus(void)
{
	honest_tap();
	return H.n;
}

/* The lie told at each APDU of the arrival in turn: no token, bounded
 * exchanges; then an honest tap brings the tokens. */
static void at_arrival(lie l)
{
	unsigned long n = arrival_apdus();
	assert_true(n >= 3);
	l.fid = -1;
	for (unsigned long at = 1; at <= n; at++) {
		l.from = (int)at;
		lie_none();
		lie_set(l);
		tap();
		no_token();
		assert_true(H.n <= n + GET_RESPONSE_BOUND);
		honest_tap();
	}
}

/* Commands sent during the last lying call, by INS, and in all. */
static unsigned long lied[256];
static unsigned long lied_total;
static unsigned long sent_before[256];

static void count_start(void)
{
	memcpy(sent_before, H.sent, sizeof sent_before);
}

static void count_end(void)
{
	lied_total = 0;
	for (size_t i = 0; i < 256; i++) {
		lied[i] = H.sent[i] - sent_before[i];
		lied_total += lied[i];
	}
	assert_true(lied_total <= CALL_APDU_BOUND);
}

/* A lie to the READ BINARYs of the token's CA certificate (and a second
 * one, also, when not NULL): C_GetAttributeValue fails cleanly (expect),
 * bounded; then the same session reads the right certificate from the
 * honest phone. */
static void at_cert_read_also(int token, lie l, const lie *also, CK_RV expect)
{
	honest_tap();
	CK_SESSION_HANDLE h = open_session(token);
	/* A phone shows the user-authentication CA certificate with its own,
	 * after login (object.c). */
	if (token == AUTH)
		assert_int_equal(login(h, token, CKU_USER), CKR_OK);
	l.ins = INS_READ;
	l.fid = ca_fid[token];
	lie_set(l);
	if (also != NULL) {
		lie second = *also;
		second.ins = INS_READ;
		second.fid = ca_fid[token];
		lie_add(second);
	}
	static uint8_t der[8192];
	CK_ULONG len = sizeof der;
	count_start();
	CK_RV rv = cert_value(h, (CK_BYTE)(token + 3), der, &len);
	count_end();
	rv_clean(rv);
	assert_int_equal(rv, expect);
	lie_none();
	len = sizeof der;
	assert_int_equal(cert_value(h, (CK_BYTE)(token + 3), der, &len), CKR_OK);
	cert_is(ca_file(token), der, len);
	assert_int_equal(F->C_CloseSession(h), CKR_OK);
}

static void at_cert_read(int token, lie l, CK_RV expect)
{
	at_cert_read_also(token, l, NULL, expect);
}

/* A lie to the VERIFY that carries the PIN: a clean error, the VERIFY sent
 * once (never repeated on its own), the session not logged in; then the
 * right PIN logs in. */
static void at_verify(int token, lie l, CK_RV expect)
{
	honest_tap();
	CK_SESSION_HANDLE h = open_session(token);
	l.ins = INS_VERIFY;
	l.fid = pin_fid[token];
	l.with_pin = true;
	lie_set(l);
	count_start();
	CK_RV rv = login(h, token, CKU_USER);
	count_end();
	rv_clean(rv);
	assert_int_equal(rv, expect);
	assert_int_equal(H.with_pin, 1);
	CK_SESSION_INFO si;
	assert_int_equal(F->C_GetSessionInfo(h, &si), CKR_OK);
	assert_int_equal(si.state, CKS_RO_PUBLIC_SESSION);
	lie_none();
	assert_int_equal(login(h, token, CKU_USER), CKR_OK);
	assert_int_equal(F->C_CloseSession(h), CKR_OK);
}

/* A lie to COMPUTE DIGITAL SIGNATURE: C_Sign fails cleanly (expect) and
 * leaves the caller's buffer as it was; a new signature from the honest
 * phone verifies. know_cert: the token's certificate was read first, so
 * the module can check the signature under its key. */
static void at_sign(int token, lie l, CK_RV expect, bool know_cert)
{
	honest_tap();
	CK_SESSION_HANDLE h = open_session(token);
	assert_int_equal(login(h, token, CKU_USER), CKR_OK);
	if (know_cert) {
		static uint8_t der[8192];
		CK_ULONG len = sizeof der;
		assert_int_equal(cert_value(h, (CK_BYTE)(token + 1), der, &len), CKR_OK);
	}
	sign_init(h, token);
	l.ins = INS_SIGN;
	l.fid = key_fid[token];
	lie_set(l);
	uint8_t sig[512];
	memset(sig, 0xEE, sizeof sig);
	CK_ULONG sig_len = sizeof sig;
	count_start();
	CK_RV rv = F->C_Sign(h, (CK_BYTE_PTR)digest_info, sizeof digest_info, sig, &sig_len);
	count_end();
	rv_clean(rv);
	assert_int_equal(rv, expect);
	assert_int_equal(lied[INS_SIGN], 1); /* never sent twice */
	assert_true(lied[INS_GET_RESPONSE] <= GET_RESPONSE_BOUND);
	for (size_t i = 0; i < sizeof sig; i++)
		assert_int_equal(sig[i], 0xEE);
	lie_none();
	sign_init(h, token);
	sig_len = sizeof sig;
	rv = F->C_Sign(h, (CK_BYTE_PTR)digest_info, sizeof digest_info, sig, &sig_len);
	if (rv == CKR_USER_NOT_LOGGED_IN && token == AUTH) {
		/* After an answer that overran its buffer the module trusts
		 * nothing it knew of the card's state: it selected the
		 * application again, and the card forgot the PIN. */
		assert_int_equal(login(h, token, CKU_USER), CKR_OK);
		sign_init(h, token);
		sig_len = sizeof sig;
		rv = F->C_Sign(h, (CK_BYTE_PTR)digest_info, sizeof digest_info, sig, &sig_len);
	}
	assert_int_equal(rv, CKR_OK);
	assert_int_equal(sig_len, 256);
	assert_true(verifies(token, sig, sig_len));
	assert_int_equal(F->C_CloseSession(h), CKR_OK);
}

/* ---- the answers -------------------------------------------------------- */

static const uint8_t sw_ok[] = {0x90, 0x00};
static const uint8_t nothing[1];
static const uint8_t one_byte[] = {0x90};
static const uint8_t sw_61[] = {0x61, 0x00};
static const uint8_t sw_6c[] = {0x6C, 0x10};

/* 64 bytes of 'A': as an answer, data whose last two bytes read as a
 * status word (41 41) that no card gives. */
static uint8_t letters[64];

/* A status word where data was asked for. (Where none was, 9000 alone is
 * the honest answer.) */
static void test_sw_without_data(void **state)
{
	(void)state;
	/* Token info: 9000 with no text. */
	lie l = {.ins = INS_READ, .fid = 0x0006, .count = -1, .resp = sw_ok, .len = 2};
	lie_set(l);
	tap();
	no_token();
	assert_true(H.n <= 8);
	for (int t = AUTH; t <= SIGN; t++) {
		at_cert_read(t, (lie){.count = -1, .resp = sw_ok, .len = 2}, CKR_DEVICE_ERROR);
		at_sign(t, (lie){.count = 1, .resp = sw_ok, .len = 2}, CKR_DEVICE_ERROR, false);
	}
}

static void test_data_without_sw(void **state)
{
	(void)state;
	at_arrival((lie){.ins = ANY_INS, .fid = -1, .count = 1, .resp = letters, .len = 32});
	/* A certificate chunk with no status word. */
	static uint8_t chunk[256];
	memset(chunk, 0x41, sizeof chunk);
	memcpy(chunk, "\x30\x82\x02\x00", 4);
	for (int t = AUTH; t <= SIGN; t++) {
		at_cert_read(t, (lie){.count = -1, .resp = chunk, .len = sizeof chunk},
		             CKR_DEVICE_ERROR);
		at_verify(t, (lie){.count = 1, .resp = letters, .len = 8}, CKR_DEVICE_ERROR);
		/* 256 signature bytes, no status word. */
		static uint8_t sig[256];
		memset(sig, 0x5A, sizeof sig);
		at_sign(t, (lie){.count = 1, .resp = sig, .len = sizeof sig}, CKR_DEVICE_ERROR,
		        false);
	}
}

/* Nothing at all, or one byte: shorter than any status word. */
static void short_answers(const uint8_t *resp, size_t len)
{
	at_arrival((lie){.ins = ANY_INS, .fid = -1, .count = 1, .resp = resp, .len = len});
	for (int t = AUTH; t <= SIGN; t++) {
		at_cert_read(t, (lie){.count = -1, .resp = resp, .len = len}, CKR_DEVICE_ERROR);
		at_verify(t, (lie){.count = 1, .resp = resp, .len = len}, CKR_DEVICE_ERROR);
		at_sign(t, (lie){.count = 1, .resp = resp, .len = len}, CKR_DEVICE_ERROR, false);
	}
}

static void test_empty_answer(void **state)
{
	(void)state;
	short_answers(nothing, 0);
}

static void test_one_byte_answer(void **state)
{
	(void)state;
	short_answers(one_byte, 1);
}

/* 61xx to the command and to every GET RESPONSE: at most 8 of those. */
static void test_get_response_forever(void **state)
{
	(void)state;
	lie l = {.ins = ANY_INS, .fid = -1, .count = -1, .resp = sw_61, .len = 2, .gr_too = true};
	at_arrival(l);
	for (int t = AUTH; t <= SIGN; t++) {
		at_cert_read(t, l, CKR_DEVICE_ERROR);
		/* an extended read, then a short one: each 8 at most */
		assert_true(lied[INS_GET_RESPONSE] <= 2 * GET_RESPONSE_BOUND);
		at_verify(t, l, CKR_DEVICE_ERROR);
		assert_int_equal(lied[INS_GET_RESPONSE], 0); /* nothing was asked for */
		at_sign(t, l, CKR_DEVICE_ERROR, false);
		assert_int_equal(lied[INS_GET_RESPONSE], GET_RESPONSE_BOUND);
		/* 61 01 with one byte each time: more than asked for, or
		 * bounded all the same. */
		static const uint8_t drip[] = {0x00, 0x61, 0x01};
		at_sign(t, (lie){.count = -1, .gr_too = true, .resp = drip, .len = 3},
		        CKR_DEVICE_ERROR, false);
	}
}

/* 6Cxx to every command: a READ BINARY is sent again once with Le = xx,
 * nothing else is. The wrong length is the phone's, never the caller's. */
static void test_wrong_le_forever(void **state)
{
	(void)state;
	lie l = {.ins = ANY_INS, .fid = -1, .count = -1, .resp = sw_6c, .len = 2};
	at_arrival(l);
	for (int t = AUTH; t <= SIGN; t++) {
		at_cert_read(t, l, CKR_DEVICE_ERROR);
		/* an extended read, a short one and the short one again */
		assert_true(lied[INS_READ] <= 3);
		at_verify(t, l, CKR_DEVICE_ERROR);
		at_sign(t, l, CKR_DEVICE_ERROR, false);
	}
}

/* 6700, wrong length, to every command: every length is the module's own
 * choice, so it is the phone's error (CKR_DEVICE_ERROR), never the
 * caller's data (CKR_DATA_LEN_RANGE); a VERIFY reads it as a PIN length
 * the card refuses. The SELECT of the PIN file at C_Login too. */
static void test_wrong_length(void **state)
{
	(void)state;
	static const uint8_t sw_67[] = {0x67, 0x00};
	lie l = {.ins = ANY_INS, .count = -1, .resp = sw_67, .len = 2};
	at_arrival(l);
	for (int t = AUTH; t <= SIGN; t++) {
		at_cert_read(t, l, CKR_DEVICE_ERROR);
		at_verify(t, l, CKR_PIN_LEN_RANGE);
		at_sign(t, l, CKR_DEVICE_ERROR, false);
	}
	/* After arrival the user-authentication PIN file is selected: the
	 * signature password's is selected at C_Login. */
	honest_tap();
	CK_SESSION_HANDLE h = open_session(SIGN);
	lie_set((lie){.ins = INS_SELECT, .fid = -1, .count = 1, .resp = sw_67, .len = 2});
	count_start();
	assert_int_equal(login(h, SIGN, CKU_USER), CKR_DEVICE_ERROR);
	count_end();
	assert_int_equal(lied[INS_SELECT], 1);
	assert_int_equal(H.with_pin, 0);
	lie_none();
	assert_int_equal(login(h, SIGN, CKU_USER), CKR_OK);
}

/* More data than the command's Le allows (or any, where none was asked). */
static void test_more_than_asked(void **state)
{
	(void)state;
	/* 33 bytes of token info for an Le of 32; data to a SELECT or to a
	 * PIN tries query. */
	at_arrival((lie){.ins = ANY_INS, .fid = -1, .count = 1, .plus_one = true});
	for (int t = AUTH; t <= SIGN; t++) {
		/* The last chunk of the certificate, one byte longer than asked. */
		at_cert_read(t, (lie){.count = -1, .plus_one = true, .at_end = true},
		             CKR_DEVICE_ERROR);
		at_verify(t, (lie){.count = 1, .plus_one = true}, CKR_DEVICE_ERROR);
	}
}

/* A length reported past the end of the module's buffer (a back end that
 * would have overrun it): never read, a protocol error. */
static void test_longer_than_buffer(void **state)
{
	(void)state;
	at_arrival((lie){.ins = ANY_INS, .fid = -1, .count = 1, .claim = 70000});
	for (int t = AUTH; t <= SIGN; t++) {
		at_cert_read(t, (lie){.count = -1, .claim = 70000}, CKR_DEVICE_ERROR);
		at_verify(t, (lie){.count = 1, .claim = 300}, CKR_DEVICE_ERROR);
		at_sign(t, (lie){.count = 1, .claim = 259}, CKR_DEVICE_ERROR, false);
	}
}

/* A certificate whose DER header claims 32 KiB (or any length over the
 * module's bound): refused from the header, nothing more read. */
static void test_cert_claims_32k(void **state)
{
	(void)state;
	static const uint8_t heads[][4] = {
	    {0x30, 0x82, 0x80, 0x00}, {0x30, 0x82, 0xFF, 0xFF}, {0x30, 0x82, 0x20, 0x01}};
	static uint8_t chunk[258];
	for (size_t i = 0; i < KZ_ARRAY_LEN(heads); i++) {
		memset(chunk, 0x41, 256);
		memcpy(chunk, heads[i], 4);
		chunk[256] = 0x90;
		chunk[257] = 0x00;
		for (int t = AUTH; t <= SIGN; t++) {
			at_cert_read(t, (lie){.count = -1, .resp = chunk, .len = sizeof chunk},
			             CKR_DEVICE_ERROR);
			assert_int_equal(lied[INS_READ], 1);
		}
	}
}

/* A header that claims more than the file holds: the file ends (6282,
 * 6B00, or 9000 with no data) before the certificate does. */
static void test_cert_claims_past_file(void **state)
{
	(void)state;
	static uint8_t chunk[258];
	memset(chunk, 0x41, 256);
	memcpy(chunk, "\x30\x82\x07\xD0", 4); /* 2000 bytes */
	chunk[256] = 0x90;
	chunk[257] = 0x00;
	static const uint8_t ends[][2] = {{0x62, 0x82}, {0x6B, 0x00}, {0x90, 0x00}};
	static uint8_t last[102];
	for (size_t i = 0; i < KZ_ARRAY_LEN(ends); i++) {
		memset(last, 0x42, 100);
		memcpy(last + 100, ends[i], 2);
		for (int t = AUTH; t <= SIGN; t++) {
			/* Reads from 0x200 on: a short last chunk and the end;
			 * those before: the claim. */
			lie end = {.ins = INS_READ,
			           .fid = ca_fid[t],
			           .count = -1,
			           .resp = ends[i][0] == 0x90 ? ends[i] : last,
			           .len = ends[i][0] == 0x90 ? 2 : sizeof last,
			           .at_end = true};
			/* the end first: it is the more specific lie */
			lie first = {.count = -1, .resp = chunk, .len = sizeof chunk};
			at_cert_read_also(t, end, &first, CKR_DEVICE_ERROR);
			assert_true(lied[INS_READ] <= 2000 / 256 + 2);
		}
	}
	/* And the honest phone's own file end, after a first chunk that
	 * claims 2000 bytes. */
	for (int t = AUTH; t <= SIGN; t++) {
		at_cert_read(t, (lie){.count = 1, .resp = chunk, .len = sizeof chunk},
		             CKR_DEVICE_ERROR);
		assert_true(lied[INS_READ] <= 2000 / 256 + 2);
	}
}

/* A well-formed header over bytes that are no certificate. */
static void test_cert_garbage(void **state)
{
	(void)state;
	static uint8_t chunk[258];
	memset(chunk, 0x41, 256);
	memcpy(chunk, "\x30\x81\xFC", 3); /* 255 bytes: all in this chunk */
	chunk[255] = 0x41;
	chunk[256] = 0x90;
	chunk[257] = 0x00;
	for (int t = AUTH; t <= SIGN; t++)
		at_cert_read(t, (lie){.count = -1, .resp = chunk, .len = sizeof chunk},
		             CKR_DEVICE_ERROR);
}

static void test_signature_truncated(void **state)
{
	(void)state;
	static uint8_t sig[258];
	static const size_t lens[] = {255, 254, 128, 1};
	for (size_t i = 0; i < KZ_ARRAY_LEN(lens); i++) {
		memset(sig, 0x5A, lens[i]);
		sig[lens[i]] = 0x90;
		sig[lens[i] + 1] = 0x00;
		for (int t = AUTH; t <= SIGN; t++) {
			at_sign(t, (lie){.count = 1, .resp = sig, .len = lens[i] + 2},
			        CKR_DEVICE_ERROR, false);
			at_sign(t, (lie){.count = 1, .resp = sig, .len = lens[i] + 2},
			        CKR_DEVICE_ERROR, true);
		}
	}
}

static void test_signature_oversized(void **state)
{
	(void)state;
	/* 256 bytes and "one more to fetch": the GET RESPONSE would bring
	 * more than the Le of 256. */
	static uint8_t sig[258];
	memset(sig, 0x5A, 256);
	sig[256] = 0x61;
	sig[257] = 0x01;
	for (int t = AUTH; t <= SIGN; t++) {
		at_sign(t, (lie){.count = 1, .claim = 259}, CKR_DEVICE_ERROR, false);
		at_sign(t, (lie){.count = 1, .claim = 514}, CKR_DEVICE_ERROR, true);
		at_sign(t, (lie){.count = 1, .resp = sig, .len = sizeof sig}, CKR_DEVICE_ERROR,
		        false);
	}
}

/* 256 bytes and 9000, but not the key's signature: refused when the
 * certificate is known (read earlier in the tap). */
static void test_signature_not_verifying(void **state)
{
	(void)state;
	static uint8_t sig[258];
	for (int t = AUTH; t <= SIGN; t++) {
		for (size_t i = 0; i < 256; i++)
			sig[i] = (uint8_t)(i * 13 + 7);
		sig[256] = 0x90;
		sig[257] = 0x00;
		at_sign(t, (lie){.count = 1, .resp = sig, .len = sizeof sig}, CKR_DEVICE_ERROR,
		        true);
		/* A genuine signature, by the other key of the same phone. */
		sign_with_other_key(t, sig);
		at_sign(t, (lie){.count = 1, .resp = sig, .len = sizeof sig}, CKR_DEVICE_ERROR,
		        true);
	}
}

/* Token info of every length from 0 to 256 data bytes, with 9000 and with
 * 6282: up to 32 bytes of printable text is a token (its model named when
 * the text is whole), none or more than 32 is not. */
static void test_token_info_any_length(void **state)
{
	(void)state;
	static uint8_t info[258];
	static const char name[] = "JPKIAPGPSETOKEN";
	for (size_t len = 0; len <= 256; len++) {
		for (int eof = 0; eof < 2; eof++) {
			memset(info, ' ', len);
			memcpy(info, name, len < 15 ? len : 15);
			info[len] = eof ? 0x62 : 0x90;
			info[len + 1] = eof ? 0x82 : 0x00;
			lie_none();
			lie_set((lie){.ins = INS_READ,
			              .fid = 0x0006,
			              .count = 1,
			              .resp = info,
			              .len = len + 2});
			tap();
			if (len == 0 || len > 32) {
				no_token();
			} else {
				assert_int_equal(tokens_present(), 2);
				CK_TOKEN_INFO ti;
				assert_int_equal(F->C_GetTokenInfo(AUTH, &ti), CKR_OK);
				bool android_named = memcmp(ti.model, "Android ", 8) == 0;
				assert_true(android_named == (len >= 15));
			}
		}
	}
	honest_tap();
}

/* ---- random bytes at any point of any flow ------------------------------- */

/* Whether this run of the flow has an honest phone: then every call must
 * succeed, which shows that the flow reaches every command it means to. */
static bool flow_honest;

static void flow_rv(CK_RV rv)
{
	if (flow_honest)
		assert_int_equal(rv, CKR_OK);
	rv_clean(rv);
	/* The caller's data is never at fault here. */
	assert_int_not_equal(rv, CKR_DATA_LEN_RANGE);
	assert_int_not_equal(rv, CKR_BUFFER_TOO_SMALL);
}

/* A relying party's flow on one token: CA certificate, login, own
 * certificate, a signature, logout. Every result is clean; a signature
 * that comes back verifies. */
static void flow_token(int token)
{
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_RV rv = F->C_OpenSession((CK_SLOT_ID)token, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
	                            NULL, &h);
	flow_rv(rv);
	if (rv != CKR_OK)
		return;
	static uint8_t der[8192];
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}};
	CK_OBJECT_HANDLE found[8];
	CK_ULONG n = 0;
	flow_rv(F->C_FindObjectsInit(h, tmpl, 1));
	flow_rv(F->C_FindObjects(h, found, 8, &n));
	flow_rv(F->C_FindObjectsFinal(h));
	for (CK_ULONG i = 0; i < n; i++) {
		CK_ATTRIBUTE a = {CKA_VALUE, der, sizeof der};
		rv = F->C_GetAttributeValue(h, found[i], &a, 1);
		flow_rv(rv);
	}
	flow_rv(login(h, token, CKU_USER));
	CK_OBJECT_HANDLE cert = CK_INVALID_HANDLE, key = CK_INVALID_HANDLE;
	CK_BYTE id = (CK_BYTE)(token + 1);
	CK_ATTRIBUTE ct[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, &id, 1}};
	flow_rv(F->C_FindObjectsInit(h, ct, 2));
	flow_rv(F->C_FindObjects(h, &cert, 1, &n));
	flow_rv(F->C_FindObjectsFinal(h));
	assert_true(n == 1 || !flow_honest);
	if (n == 1) {
		CK_ATTRIBUTE a = {CKA_VALUE, der, sizeof der};
		flow_rv(F->C_GetAttributeValue(h, cert, &a, 1));
	}
	CK_OBJECT_CLASS kcls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE kt[] = {{CKA_CLASS, &kcls, sizeof kcls}};
	flow_rv(F->C_FindObjectsInit(h, kt, 1));
	flow_rv(F->C_FindObjects(h, &key, 1, &n));
	flow_rv(F->C_FindObjectsFinal(h));
	assert_true(n == 1 || !flow_honest);
	if (n == 1) {
		CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
		rv = F->C_SignInit(h, &m, key);
		flow_rv(rv);
		if (rv == CKR_OK && token == SIGN)
			flow_rv(login(h, token, CKU_CONTEXT_SPECIFIC));
		uint8_t sig[512];
		CK_ULONG sig_len = sizeof sig;
		rv = F->C_Sign(h, (CK_BYTE_PTR)digest_info, sizeof digest_info, sig, &sig_len);
		flow_rv(rv);
		if (rv == CKR_OK) {
			assert_int_equal(sig_len, 256);
			assert_true(verifies(token, sig, sig_len));
		}
	}
	/* CHANGE REFERENCE DATA, to the same PIN so that the phone's PIN
	 * stays what the next run expects whichever answer was a lie. */
	CK_UTF8CHAR_PTR pin = (CK_UTF8CHAR_PTR)pins[token];
	flow_rv(F->C_SetPIN(h, pin, strlen(pins[token]), pin, strlen(pins[token])));
	rv = F->C_Logout(h);
	flow_rv(rv);
	rv = F->C_CloseSession(h);
	assert_true(rv == CKR_OK || rv == CKR_SESSION_HANDLE_INVALID);
}

static void flow(void)
{
	CK_ULONG n = 0;
	flow_rv(F->C_GetSlotList(CK_TRUE, NULL, &n));
	for (CK_SLOT_ID s = 0; s < 2; s++) {
		CK_TOKEN_INFO ti;
		CK_RV rv = F->C_GetTokenInfo(s, &ti);
		assert_true(rv == CKR_OK || rv == CKR_TOKEN_NOT_PRESENT);
	}
	if (flow_honest)
		assert_int_equal(n, 2);
	if (n == 2) {
		flow_token(AUTH);
		flow_token(SIGN);
	}
}

static void test_random_anywhere(void **state)
{
	(void)state;
	lie_none();
	tap();
	flow_honest = true;
	flow();
	flow_honest = false;
	unsigned long apdus = H.n;
	assert_true(apdus > 20);
	for (uint32_t seed = 1; seed <= 6; seed++) {
		H.rng = 0x9E3779B9u * seed;
		for (unsigned long at = 1; at <= apdus + 2; at++) {
			lie_none();
			H.random_at = at;
			tap();
			flow();
			H.random_at = 0;
		}
	}
	honest_tap();
}

/* No answer at all, at each command of the flow in turn: the phone left
 * in the middle of a call. Every call after that fails cleanly (the
 * sessions went with the phone), and nothing of them is touched again
 * (the address sanitizer run of CI watches for that). */
static void test_leave_anywhere(void **state)
{
	(void)state;
	/* Twice: the first tap teaches the module what the phone does not
	 * take (extended APDUs), and later taps skip asking. */
	flow_honest = true;
	for (int i = 0; i < 2; i++) {
		lie_none();
		tap();
		flow();
	}
	flow_honest = false;
	unsigned long apdus = H.n;
	for (unsigned long at = 1; at <= apdus; at++) {
		lie_none();
		H.leave_at = at;
		tap();
		flow();
		assert_int_equal(H.n, at); /* nothing sent after the silence */
	}
	honest_tap();
}

int main(void)
{
	memset(letters, 'A', sizeof letters);
	setenv("KAZASHI_CONF", "/dev/null", 0);
#define BOTH(f)                                                                                    \
	{"android/" #f, f, setup, teardown, &android},                                             \
	{                                                                                          \
		"card/" #f, f, setup, teardown, &card                                              \
	}
	const struct CMUnitTest tests[] = {
	    BOTH(test_sw_without_data),
	    BOTH(test_data_without_sw),
	    BOTH(test_empty_answer),
	    BOTH(test_one_byte_answer),
	    BOTH(test_get_response_forever),
	    BOTH(test_wrong_le_forever),
	    BOTH(test_wrong_length),
	    BOTH(test_more_than_asked),
	    BOTH(test_longer_than_buffer),
	    BOTH(test_cert_claims_32k),
	    BOTH(test_cert_claims_past_file),
	    BOTH(test_cert_garbage),
	    BOTH(test_signature_truncated),
	    BOTH(test_signature_oversized),
	    BOTH(test_signature_not_verifying),
	    BOTH(test_token_info_any_length),
	    BOTH(test_random_anywhere),
	    BOTH(test_leave_anywhere),
	};
	pki = testpki_make();
	if (pki == NULL)
		return 1;
	C_GetFunctionList(&F);
	int rc = cmocka_run_group_tests_name("p11-hostile", tests, NULL, NULL);
	testpki_remove(pki);
	return rc;
}
