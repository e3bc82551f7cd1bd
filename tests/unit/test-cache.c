/* The per-process certificate cache and the per-reader memory of extended
 * APDUs (src/pkcs11/token.c), through the PKCS#11 entry points against the
 * in-process simulated phone. What is asserted is what goes over the air:
 * which READ BINARYs a re-tapped phone is sent, and that what the module
 * hands out is always the certificate of the phone in the field. */
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

#include "backend.h"
#include "jpki/jpki.h"
#include "phone.h"
#include "pkcs11/p11.h"
#include "pkcs11/token.h"
#include "testpki.h"

#define INS_READ_BINARY 0xB0
#define READS_MAX       32

/* Two phones' worth of PKI: same issuer names, other keys and serials. */
static char *pki[2];

/* What the phone in the field was sent since the tap, READ BINARYs apart. */
typedef struct air {
	sim_phone *phone;
	unsigned long apdus;
	unsigned reads;
	struct {
		size_t cmd_len; /* 5: short, 7: extended */
		size_t le;      /* as asked, 65536 for an extended 0000 */
		size_t offset;
		size_t data; /* bytes answered, status word apart */
		uint16_t sw;
	} read[READS_MAX];
	/* A lying phone: answers short READ BINARYs at offset 0 with the
	 * first bytes of this certificate instead of its own. */
	const uint8_t *lie;
	size_t lie_len;
} air;

static air A;

static bool answer(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
	air *a = ctx;
	static uint8_t buf[SIM_RESP_MAX];
	size_t n = 0;
	if (!sim_phone_transmit(a->phone, cmd, cmd_len, buf, &n))
		return false;
	bool read = cmd_len >= 5 && cmd[1] == INS_READ_BINARY;
	size_t offset = read ? (size_t)cmd[2] << 8 | cmd[3] : 0;
	if (read && a->lie != NULL && cmd_len == 5 && offset == 0 && buf[n - 2] == 0x90) {
		size_t le = cmd[4] != 0 ? cmd[4] : 256;
		n = le < a->lie_len ? le : a->lie_len;
		memcpy(buf, a->lie, n);
		buf[n++] = 0x90;
		buf[n++] = 0x00;
	}
	a->apdus++;
	if (read && a->reads < READS_MAX) {
		bool ext = cmd_len == 7;
		size_t le = ext ? ((size_t)cmd[5] << 8 | cmd[6]) : cmd[4];
		a->read[a->reads].cmd_len = cmd_len;
		a->read[a->reads].le = le != 0 ? le : ext ? 65536 : 256;
		a->read[a->reads].offset = offset;
		a->read[a->reads].data = n - 2;
		a->read[a->reads].sw = (uint16_t)(buf[n - 2] << 8 | buf[n - 1]);
		a->reads++;
	}
	assert_true(n <= *resp_len);
	memcpy(resp, buf, n);
	*resp_len = n;
	return true;
}

static sim_phone *phone_new(int which, sim_persona persona, bool extended)
{
	sim_config cfg = {.persona = persona, .pki_dir = pki[which], .accept_extended = extended};
	sim_phone *p = sim_phone_new(&cfg);
	assert_non_null(p);
	return p;
}

static CK_SLOT_ID slot_of(jpki_key key);

/* The phone enters the field and the module sees it arrive (token info,
 * PIN tries), counted from the start (tap_counted) or from then on (tap):
 * what the test asks for. */
static void tap_counted(sim_phone *p)
{
	memset(&A, 0, sizeof A);
	A.phone = p;
	sim_phone_reset(p);
	sim_backend_use_function(answer, &A);
	sim_backend_tap();
	(void)slot_of(JPKI_KEY_AUTH);
}

static void tap(sim_phone *p)
{
	tap_counted(p);
	memset(&A, 0, sizeof A);
	A.phone = p;
}

static void leave(void)
{
	sim_backend_leave();
}

/* The configuration as given: the CA certificates hidden by default. */
static void init_raw(const char *words)
{
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK, .pReserved = (void *)words};
	assert_int_equal(C_Initialize(&args), CKR_OK);
}

/* The CA certificates are shown (ca_certificates): they are kept too, and
 * read here through their objects. */
static void init(const char *words)
{
	char all[128];
	snprintf(all, sizeof all, "ca_certificates=yes %s", words != NULL ? words : "");
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK, .pReserved = all};
	assert_int_equal(C_Initialize(&args), CKR_OK);
}

static CK_SLOT_ID slot_of(jpki_key key)
{
	static const char *const labels[] = {"JPKI User Authentication", "JPKI Digital Signature"};
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8;
	assert_int_equal(C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		assert_int_equal(C_GetTokenInfo(slots[i], &ti), CKR_OK);
		if (memcmp(ti.label, labels[key], strlen(labels[key])) == 0)
			return slots[i];
	}
	fail_msg("no token for key %d", (int)key);
	return 0;
}

static CK_OBJECT_HANDLE find(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, CK_BYTE id)
{
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, &id, 1}};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG n = 0;
	assert_int_equal(C_FindObjectsInit(s, tmpl, 2), CKR_OK);
	assert_int_equal(C_FindObjects(s, &h, 1, &n), CKR_OK);
	assert_int_equal(C_FindObjectsFinal(s), CKR_OK);
	assert_int_equal(n, 1);
	return h;
}

/* Open a session on key's token, log in if asked, read the certificate
 * (ca: the CA's) and compare it with the PKI file want. */
static void read_cert(jpki_key key, bool ca, bool login, const char *dir, const char *want)
{
	static const char *const pins[] = {"1234", "ABC123"};
	CK_SESSION_HANDLE s;
	assert_int_equal(C_OpenSession(slot_of(key), CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
	if (login)
		assert_int_equal(
		    C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pins[key], strlen(pins[key])), CKR_OK);
	CK_BYTE id = (CK_BYTE)(ca ? 3 + key : 1 + key);
	CK_ATTRIBUTE a = {CKA_VALUE, NULL, 0};
	CK_OBJECT_HANDLE h = find(s, CKO_CERTIFICATE, id);
	assert_int_equal(C_GetAttributeValue(s, h, &a, 1), CKR_OK);
	size_t len = 0;
	uint8_t *der = testpki_read(dir, want, &len);
	assert_non_null(der);
	assert_int_equal(a.ulValueLen, len);
	a.pValue = malloc(len);
	assert_non_null(a.pValue);
	assert_int_equal(C_GetAttributeValue(s, h, &a, 1), CKR_OK);
	assert_memory_equal(a.pValue, der, len);
	free(a.pValue);
	free(der);
	assert_int_equal(C_CloseSession(s), CKR_OK);
}

static size_t identity_len(int which, const char *file)
{
	size_t len = 0;
	uint8_t *der = testpki_read(pki[which], file, &len);
	assert_non_null(der);
	size_t n = jpki_cert_identity_len(der, len);
	free(der);
	assert_true(n > 0 && n <= 256);
	return n;
}

static size_t file_len(int which, const char *file)
{
	size_t len = 0;
	free(testpki_read(pki[which], file, &len));
	return len;
}

static size_t data_read(void)
{
	size_t n = 0;
	for (unsigned i = 0; i < A.reads; i++)
		n += A.read[i].data;
	return n;
}

/* ---- tests ----------------------------------------------------------------- */

static int setup_test(void **state)
{
	(void)state;
	kz_token_cache_clear();
	return 0;
}

static int teardown_test(void **state)
{
	(void)state;
	(void)C_Finalize(NULL); /* after a failure; else already done */
	leave();
	sim_backend_use_phone(NULL);
	return 0;
}

/* The identity of a certificate ends with its issuer Name. */
static void test_identity_len(void **state)
{
	(void)state;
	size_t len = 0;
	uint8_t *der = testpki_read(pki[0], "auth.der", &len);
	assert_non_null(der);
	size_t n = jpki_cert_identity_len(der, len);
	/* 30 82 LL LL 30 82 LL LL | A0 03 02 01 02 | 02 .. serial | 30 0D alg |
	 * 30 .. issuer: walk it here the long way round */
	size_t off = 8 + 5;
	off += 2 + der[off + 1];          /* serial */
	off += 2 + der[off + 1];          /* algorithm */
	assert_int_equal(der[off], 0x30); /* issuer */
	size_t hdr = der[off + 1] < 0x80 ? 2 : 2 + (der[off + 1] & 0x7F);
	size_t body = der[off + 1] < 0x80 ? der[off + 1] : der[off + 2];
	assert_int_equal(n, off + hdr + body);
	/* truncated or not a certificate: 0 */
	assert_int_equal(jpki_cert_identity_len(der, n - 1), 0);
	assert_int_equal(jpki_cert_identity_len(der + 4, len - 4), 0);
	assert_int_equal(jpki_cert_identity_len(NULL, 0), 0);
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	assert_int_equal(jpki_cert_identity_len(junk, sizeof junk), 0);
	free(der);
}

/* A re-tapped card: it is recognised at arrival by the last 16 bytes of
 * its certificate (the end of the certificate's signature), one short
 * READ BINARY at their offset, instead of the token-info read; the
 * certificate is not read again. */
static void test_retap_card(void **state)
{
	(void)state;
	sim_phone *p = phone_new(0, SIM_PERSONA_CARD, true);
	size_t len = file_len(0, "auth.der");
	init(NULL);
	tap_counted(p);
	unsigned long cold = A.apdus;
	assert_int_equal(A.reads, 1); /* the token info */
	read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
	assert_int_equal(A.reads, 2); /* one extended read of it all */
	assert_int_equal(A.read[1].cmd_len, 7);
	leave();
	tap_counted(p);
	assert_int_equal(A.apdus, cold); /* SELECT EF 000A for SELECT EF 0006 */
	assert_int_equal(A.reads, 1);
	assert_int_equal(A.read[0].cmd_len, 5);
	assert_int_equal(A.read[0].offset, len - 16);
	assert_int_equal(A.read[0].le, 16);
	assert_int_equal(A.read[0].data, 16);
	/* the model and token info are the card's */
	CK_TOKEN_INFO ti;
	assert_int_equal(C_GetTokenInfo(slot_of(JPKI_KEY_AUTH), &ti), CKR_OK);
	assert_memory_equal(ti.model, "My Number card", 14);
	unsigned long apdus = A.apdus;
	read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
	assert_int_equal(A.apdus, apdus);
	/* and the card signs as its certificate says */
	CK_SESSION_HANDLE s;
	assert_int_equal(C_OpenSession(slot_of(JPKI_KEY_AUTH), CKF_SERIAL_SESSION, NULL, NULL, &s),
	                 CKR_OK);
	assert_int_equal(C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4), CKR_OK);
	CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
	uint8_t sig[256];
	CK_ULONG sig_len = sizeof sig;
	assert_int_equal(C_SignInit(s, &m, find(s, CKO_PRIVATE_KEY, 1)), CKR_OK);
	assert_int_equal(C_Sign(s, (CK_BYTE_PTR) "challenge", 9, sig, &sig_len), CKR_OK);
	assert_int_equal(C_CloseSession(s), CKR_OK);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	sim_phone_free(p);
}

/* A phone after a card: its file is behind the PIN, the recognition read
 * is refused and the token info read as on any first tap. */
static void test_phone_after_card(void **state)
{
	(void)state;
	sim_phone *card = phone_new(0, SIM_PERSONA_CARD, true);
	sim_phone *phone = phone_new(1, SIM_PERSONA_ANDROID, true);
	init(NULL);
	tap(card);
	read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
	leave();
	tap_counted(phone);
	assert_int_equal(A.reads, 2);
	assert_int_equal(A.read[0].sw, 0x6982);
	assert_int_equal(A.read[1].offset, 0); /* the token info */
	CK_TOKEN_INFO ti;
	assert_int_equal(C_GetTokenInfo(slot_of(JPKI_KEY_AUTH), &ti), CKR_OK);
	assert_memory_equal(ti.model, "Android", 7);
	read_cert(JPKI_KEY_AUTH, false, true, pki[1], "auth.der");
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	sim_phone_free(card);
	sim_phone_free(phone);
}

/* Another phone in the same reader: its first bytes differ, and reading
 * goes on from them; no byte is read twice. */
static void test_other_phone(void **state)
{
	(void)state;
	sim_phone *p0 = phone_new(0, SIM_PERSONA_CARD, false);
	sim_phone *p1 = phone_new(1, SIM_PERSONA_CARD, false);
	init(NULL);
	tap(p0);
	read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
	leave();
	tap(p1);
	read_cert(JPKI_KEY_AUTH, false, false, pki[1], "auth.der");
	assert_int_equal(data_read(), file_len(1, "auth.der"));
	assert_int_equal(A.read[0].le, identity_len(0, "auth.der"));
	/* and back: both are known now, each from its arrival */
	leave();
	tap(p0);
	read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
	assert_int_equal(A.reads, 0);
	leave();
	tap(p1);
	read_cert(JPKI_KEY_AUTH, false, false, pki[1], "auth.der");
	assert_int_equal(A.reads, 0);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	sim_phone_free(p0);
	sim_phone_free(p1);
}

/* A phone keeps its user-authentication certificate behind the PIN: the
 * check is made after the login, like the read it replaces. */
static void test_retap_android(void **state)
{
	(void)state;
	sim_phone *p = phone_new(0, SIM_PERSONA_ANDROID, true);
	init(NULL);
	tap(p);
	read_cert(JPKI_KEY_AUTH, false, true, pki[0], "auth.der");
	leave();
	tap(p);
	read_cert(JPKI_KEY_AUTH, false, true, pki[0], "auth.der");
	assert_int_equal(A.reads, 1);
	assert_int_equal(A.read[0].sw, 0x9000);
	assert_int_equal(A.read[0].data, identity_len(0, "auth.der"));
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	sim_phone_free(p);
}

/* CA certificates are kept too; the signature certificate (name, address,
 * birth date) never is. */
static void test_what_is_kept(void **state)
{
	(void)state;
	sim_phone *p = phone_new(0, SIM_PERSONA_CARD, true);
	init(NULL);
	tap(p);
	read_cert(JPKI_KEY_SIGN, true, false, pki[0], "signca.der");
	read_cert(JPKI_KEY_SIGN, false, true, pki[0], "sign.der");
	leave();
	tap(p);
	read_cert(JPKI_KEY_SIGN, true, false, pki[0], "signca.der");
	assert_int_equal(A.reads, 1);
	assert_int_equal(A.read[0].le, identity_len(0, "signca.der"));
	read_cert(JPKI_KEY_SIGN, false, true, pki[0], "sign.der");
	assert_int_equal(A.reads, 2);
	assert_int_equal(A.read[1].cmd_len, 7); /* read whole again */
	assert_int_equal(A.read[1].data, file_len(0, "sign.der"));
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	sim_phone_free(p);
}

/* certificate_cache=no: every tap reads the whole certificate, and what
 * was kept before is dropped, not merely ignored. */
static void test_cache_off(void **state)
{
	(void)state;
	sim_phone *p = phone_new(0, SIM_PERSONA_CARD, true);
	init(NULL);
	tap(p);
	read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
	leave();
	assert_int_equal(C_Finalize(NULL), CKR_OK);

	init("certificate_cache=no");
	for (int i = 0; i < 2; i++) {
		tap(p);
		read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
		assert_int_equal(A.reads, 1);
		assert_int_equal(A.read[0].cmd_len, 7);
		assert_int_equal(A.read[0].data, file_len(0, "auth.der"));
		leave();
	}
	assert_int_equal(C_Finalize(NULL), CKR_OK);

	init(NULL);
	tap(p);
	read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
	assert_int_equal(A.read[0].cmd_len, 7); /* nothing was left to match */
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	sim_phone_free(p);
}

/* A phone that answers another phone's first bytes is shown that phone's
 * certificate, which is public anyway, and gets no signature past the
 * module: its key is not the certificate's. */
static void test_lying_phone(void **state)
{
	(void)state;
	sim_phone *p0 = phone_new(0, SIM_PERSONA_CARD, true);
	sim_phone *p1 = phone_new(1, SIM_PERSONA_CARD, true);
	size_t len = 0;
	uint8_t *victim = testpki_read(pki[0], "auth.der", &len);
	assert_non_null(victim);
	init(NULL);
	tap(p0);
	read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
	leave();
	tap(p1);
	A.lie = victim;
	A.lie_len = len;
	read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
	CK_SESSION_HANDLE s;
	assert_int_equal(C_OpenSession(slot_of(JPKI_KEY_AUTH), CKF_SERIAL_SESSION, NULL, NULL, &s),
	                 CKR_OK);
	assert_int_equal(C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4), CKR_OK);
	CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
	uint8_t sig[256];
	CK_ULONG sig_len = sizeof sig;
	assert_int_equal(C_SignInit(s, &m, find(s, CKO_PRIVATE_KEY, 1)), CKR_OK);
	assert_int_equal(C_Sign(s, (CK_BYTE_PTR) "challenge", 9, sig, &sig_len), CKR_DEVICE_ERROR);
	assert_int_equal(C_CloseSession(s), CKR_OK);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	free(victim);
	sim_phone_free(p0);
	sim_phone_free(p1);
}

/* ca_certificates off (the default): a relying party that walks every
 * object of both tokens, logged in, and reads every value, has the phone
 * read its two certificates and never a CA's. */
static void test_no_ca_read(void **state)
{
	(void)state;
	static const char *const pins[] = {"1234", "ABC123"};
	sim_phone *p = phone_new(0, SIM_PERSONA_ANDROID, true);
	init_raw(NULL);
	tap(p);
	for (int key = JPKI_KEY_AUTH; key <= JPKI_KEY_SIGN; key++) {
		CK_SESSION_HANDLE s;
		assert_int_equal(
		    C_OpenSession(slot_of((jpki_key)key), CKF_SERIAL_SESSION, NULL, NULL, &s),
		    CKR_OK);
		assert_int_equal(
		    C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pins[key], strlen(pins[key])), CKR_OK);
		CK_OBJECT_HANDLE all[8];
		CK_ULONG n = 0;
		assert_int_equal(C_FindObjectsInit(s, NULL, 0), CKR_OK);
		assert_int_equal(C_FindObjects(s, all, 8, &n), CKR_OK);
		assert_int_equal(C_FindObjectsFinal(s), CKR_OK);
		assert_int_equal(n, 3); /* key pair and certificate */
		for (CK_ULONG i = 0; i < n; i++) {
			static CK_BYTE value[4096], modulus[512];
			CK_ATTRIBUTE t[] = {{CKA_VALUE, value, sizeof value},
			                    {CKA_MODULUS, modulus, sizeof modulus}};
			CK_RV rv = C_GetAttributeValue(s, all[i], t, 2);
			assert_true(rv == CKR_OK || rv == CKR_ATTRIBUTE_TYPE_INVALID);
		}
		assert_int_equal(C_CloseSession(s), CKR_OK);
	}
	assert_int_equal(data_read(), file_len(0, "auth.der") + file_len(0, "sign.der"));
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	sim_phone_free(p);
}

/* A phone that refuses extended APDUs costs one refused READ BINARY in
 * this reader, not one a tap; a phone of another model is asked again. */
static void test_extended_memory(void **state)
{
	(void)state;
	sim_phone *card = phone_new(0, SIM_PERSONA_CARD, false);
	sim_phone *phone = phone_new(1, SIM_PERSONA_ANDROID, true);
	init("certificate_cache=no");
	tap(card);
	read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
	assert_int_equal(A.read[0].cmd_len, 7);
	assert_int_equal(A.read[0].sw, 0x6700);
	assert_int_equal(A.reads, 1 + (file_len(0, "auth.der") + 255) / 256);
	leave();
	tap(card);
	read_cert(JPKI_KEY_AUTH, true, false, pki[0], "authca.der");
	assert_int_equal(A.read[0].cmd_len, 5);
	assert_int_equal(A.reads, (file_len(0, "authca.der") + 255) / 256);
	leave();
	tap(phone); /* a CA certificate a phone shows before login */
	read_cert(JPKI_KEY_SIGN, true, false, pki[1], "signca.der");
	assert_int_equal(A.reads, 1);
	assert_int_equal(A.read[0].cmd_len, 7);
	leave();
	tap(card); /* the card's verdict was not overwritten by the phone's */
	read_cert(JPKI_KEY_AUTH, false, false, pki[0], "auth.der");
	assert_int_equal(A.read[0].cmd_len, 5);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	sim_phone_free(card);
	sim_phone_free(phone);
}

int main(void)
{
	/* A host configuration must not change what the tests see. */
	setenv("KAZASHI_CONF", "/dev/null", 1);
	unsetenv("KAZASHI_DEBUG");
	pki[0] = testpki_make();
	pki[1] = testpki_make();
	if (pki[0] == NULL || pki[1] == NULL)
		return 99;
	sim_backend_install();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_identity_len),
	    cmocka_unit_test_setup_teardown(test_retap_card, setup_test, teardown_test),
	    cmocka_unit_test_setup_teardown(test_other_phone, setup_test, teardown_test),
	    cmocka_unit_test_setup_teardown(test_phone_after_card, setup_test, teardown_test),
	    cmocka_unit_test_setup_teardown(test_retap_android, setup_test, teardown_test),
	    cmocka_unit_test_setup_teardown(test_what_is_kept, setup_test, teardown_test),
	    cmocka_unit_test_setup_teardown(test_cache_off, setup_test, teardown_test),
	    cmocka_unit_test_setup_teardown(test_lying_phone, setup_test, teardown_test),
	    cmocka_unit_test_setup_teardown(test_extended_memory, setup_test, teardown_test),
	    cmocka_unit_test_setup_teardown(test_no_ca_read, setup_test, teardown_test),
	};
	int rc = cmocka_run_group_tests_name("test-cache", tests, NULL, NULL);
	kz_token_cache_clear();
	testpki_remove(pki[0]);
	testpki_remove(pki[1]);
	return rc;
}
