/* The JPKI layer against the in-process simulated phone (tests/sim), and
 * against a scripted hostile card. APDU counts are asserted: sparing APDUs
 * is what this layer is for. */
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

#include "apdu/apdu.h"
#include "jpki/cert.h"
#include "jpki/jpki.h"
#include "phone.h"
#include "testpki.h"

#define INS_VERIFY      0x20
#define INS_CHANGE      0x24
#define INS_SIGN        0x2A
#define INS_SELECT      0xA4
#define INS_READ_BINARY 0xB0

static char *pki_dir;

/* SHA-256 DigestInfo of 32 bytes of 0xAB. */
static const uint8_t digest_info[51] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
    0x02, 0x01, 0x05, 0x00, 0x04, 0x20, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB,
    0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB,
    0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB};

/* ---- a link to the simulated phone --------------------------------------- */

typedef struct simlink {
	kz_transport t;
	sim_phone *phone;
	jpki_card card;
	unsigned long by_ins[256]; /* exchanges per instruction byte */
	uint8_t buf[SIM_RESP_MAX];
} simlink;

/* Like a reader: the phone's answer is copied out only if it fits, and a
 * phone that has left gives KZ_E_REMOVED. */
static kz_err sim_tx(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
	simlink *l = ctx;
	size_t n = 0;
	if (!sim_phone_transmit(l->phone, cmd, cmd_len, l->buf, &n))
		return KZ_E_REMOVED;
	if (cmd_len >= 2)
		l->by_ins[cmd[1]]++;
	if (n > *resp_len)
		return KZ_E_COMM;
	memcpy(resp, l->buf, n);
	*resp_len = n;
	return KZ_OK;
}

typedef struct link_opts {
	sim_persona persona;
	bool link_extended;  /* the reader can carry extended APDUs */
	bool phone_extended; /* the phone accepts them */
	unsigned long leave_at;
	size_t cert_ef_size;
	int auth_tries;
	int sign_tries;
} link_opts;

static simlink *link_new(const link_opts *o)
{
	simlink *l = calloc(1, sizeof *l);
	assert_non_null(l);
	sim_config cfg = {
	    .persona = o->persona,
	    .pki_dir = pki_dir,
	    .auth_tries = o->auth_tries,
	    .sign_tries = o->sign_tries,
	    .leave_at_apdu = o->leave_at,
	    .accept_extended = o->phone_extended,
	    .cert_ef_size = o->cert_ef_size,
	};
	l->phone = sim_phone_new(&cfg);
	assert_non_null(l->phone);
	l->t.transmit = sim_tx;
	l->t.ctx = l;
	l->t.extended_ok = o->link_extended;
	l->t.max_cmd = o->link_extended ? KZ_APDU_EXT_CMD_MAX : KZ_APDU_SHORT_CMD_MAX;
	l->t.max_resp = o->link_extended ? KZ_APDU_EXT_RESP_MAX : KZ_APDU_SHORT_RESP_MAX;
	l->t.name = "sim";
	jpki_card_init(&l->card, &l->t);
	return l;
}

static simlink *link_persona(sim_persona persona)
{
	link_opts o = {.persona = persona};
	return link_new(&o);
}

static void link_free(simlink *l)
{
	if (l == NULL)
		return;
	sim_phone_free(l->phone);
	free(l);
}

static void counts_clear(simlink *l)
{
	memset(l->by_ins, 0, sizeof l->by_ins);
	l->card.apdu_count = 0;
}

static uint8_t *pki_file(const char *name, size_t *len)
{
	uint8_t *der = testpki_read(pki_dir, name, len);
	assert_non_null(der);
	return der;
}

static size_t chunks(size_t len)
{
	return (len + 255) / 256;
}

/* Read fid and compare with the PKI file; returns the READ BINARYs it took. */
static unsigned long read_and_check(simlink *l, uint16_t fid, const char *file)
{
	size_t want_len;
	uint8_t *want = pki_file(file, &want_len);
	unsigned long before = l->by_ins[INS_READ_BINARY];
	uint8_t *der = NULL;
	size_t len = 0;
	assert_int_equal(jpki_read_certificate(&l->card, fid, &der, &len), KZ_OK);
	assert_int_equal(len, want_len);
	assert_memory_equal(der, want, len);
	free(der);
	free(want);
	return l->by_ins[INS_READ_BINARY] - before;
}

static size_t file_len(const char *file)
{
	size_t len;
	free(pki_file(file, &len));
	return len;
}

static void verify_ok(simlink *l, jpki_key key)
{
	const char *pin = key == JPKI_KEY_AUTH ? "1234" : "ABC123";
	int tries = -2;
	assert_int_equal(jpki_verify(&l->card, key, (const uint8_t *)pin, strlen(pin), &tries),
	                 KZ_OK);
	assert_int_equal(tries, jpki_pin_max_tries(key));
}

/* ---- fixtures ------------------------------------------------------------ */

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

/* ---- select and token info ----------------------------------------------- */

static void test_token_info_personas(void **state)
{
	(void)state;
	static const struct {
		sim_persona persona;
		const char *text;
		jpki_model model;
	} cases[] = {
	    {SIM_PERSONA_CARD, "JPKIAPICCTOKEN2", JPKI_MODEL_CARD},
	    {SIM_PERSONA_ANDROID, "JPKIAPGPSETOKEN", JPKI_MODEL_ANDROID},
	    {SIM_PERSONA_IPHONE, "JPKIAPIOSTOKEN", JPKI_MODEL_IPHONE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		simlink *l = link_persona(cases[i].persona);
		char text[JPKI_TOKEN_INFO_LEN + 1];
		jpki_model model;
		assert_int_equal(jpki_select_app(&l->card), KZ_OK);
		assert_int_equal(l->card.apdu_count, 1);
		assert_true(l->card.ap_selected);
		assert_int_equal(jpki_read_token_info(&l->card, text, &model), KZ_OK);
		assert_string_equal(text, cases[i].text);
		assert_int_equal(model, cases[i].model);
		/* SELECT AP, SELECT EF 0006, one READ BINARY */
		assert_int_equal(l->card.apdu_count, 3);
		assert_int_equal(l->card.selected_fid, JPKI_EF_TOKEN_INFO);
		/* again: the EF is still selected, one READ BINARY only */
		assert_int_equal(jpki_read_token_info(&l->card, text, &model), KZ_OK);
		assert_int_equal(l->card.apdu_count, 4);
		link_free(l);
	}
}

/* Token info selects the application itself when it has to. */
static void test_token_info_cold(void **state)
{
	(void)state;
	simlink *l = link_persona(SIM_PERSONA_ANDROID);
	char text[JPKI_TOKEN_INFO_LEN + 1];
	jpki_model model;
	assert_int_equal(jpki_read_token_info(&l->card, text, &model), KZ_OK);
	assert_int_equal(model, JPKI_MODEL_ANDROID);
	assert_int_equal(l->card.apdu_count, 3);
	assert_int_equal(l->by_ins[INS_SELECT], 2);
	link_free(l);
}

static void test_model_names(void **state)
{
	(void)state;
	assert_string_equal(jpki_model_name(JPKI_MODEL_CARD), "My Number card");
	assert_string_equal(jpki_model_name(JPKI_MODEL_ANDROID), "Android");
	assert_string_equal(jpki_model_name(JPKI_MODEL_IPHONE), "iPhone");
	assert_non_null(jpki_model_name(JPKI_MODEL_OLD_CARD));
	assert_non_null(jpki_model_name((jpki_model)99));
	assert_int_equal(jpki_cert_fid(JPKI_KEY_AUTH), 0x000A);
	assert_int_equal(jpki_ca_fid(JPKI_KEY_AUTH), 0x000B);
	assert_int_equal(jpki_key_fid(JPKI_KEY_AUTH), 0x0017);
	assert_int_equal(jpki_pin_fid(JPKI_KEY_AUTH), 0x0018);
	assert_int_equal(jpki_cert_fid(JPKI_KEY_SIGN), 0x0001);
	assert_int_equal(jpki_ca_fid(JPKI_KEY_SIGN), 0x0002);
	assert_int_equal(jpki_key_fid(JPKI_KEY_SIGN), 0x001A);
	assert_int_equal(jpki_pin_fid(JPKI_KEY_SIGN), 0x001B);
	assert_int_equal(jpki_pin_max_tries(JPKI_KEY_AUTH), 3);
	assert_int_equal(jpki_pin_max_tries(JPKI_KEY_SIGN), 5);
}

/* ---- certificates -------------------------------------------------------- */

static void test_certs_short(void **state)
{
	(void)state;
	simlink *l = link_persona(SIM_PERSONA_CARD);
	/* the ~1.1 KB signature certificate: 256+256+256+256+rest */
	size_t sign_len = file_len("sign.der");
	assert_true(sign_len > 1024 && sign_len <= 1280);

	assert_int_equal(read_and_check(l, JPKI_EF_AUTH_CERT, "auth.der"),
	                 chunks(file_len("auth.der")));
	/* SELECT AP, SELECT EF and the reads: nothing else */
	assert_int_equal(l->card.apdu_count, 2 + chunks(file_len("auth.der")));
	assert_int_equal(read_and_check(l, JPKI_EF_AUTH_CA, "authca.der"),
	                 chunks(file_len("authca.der")));
	assert_int_equal(read_and_check(l, JPKI_EF_SIGN_CA, "signca.der"),
	                 chunks(file_len("signca.der")));
	verify_ok(l, JPKI_KEY_SIGN);
	counts_clear(l);
	assert_int_equal(read_and_check(l, JPKI_EF_SIGN_CERT, "sign.der"), 5);
	assert_int_equal(l->by_ins[INS_SELECT], 1);
	assert_int_equal(l->card.apdu_count, 6);
	assert_int_equal(l->card.extended, JPKI_EXT_UNKNOWN);
	link_free(l);
}

static void test_certs_extended(void **state)
{
	(void)state;
	link_opts o = {.persona = SIM_PERSONA_CARD, .link_extended = true, .phone_extended = true};
	simlink *l = link_new(&o);
	assert_int_equal(read_and_check(l, JPKI_EF_AUTH_CERT, "auth.der"), 1);
	assert_int_equal(l->card.extended, JPKI_EXT_YES);
	assert_int_equal(l->card.apdu_count, 3);
	assert_int_equal(read_and_check(l, JPKI_EF_AUTH_CA, "authca.der"), 1);
	assert_int_equal(read_and_check(l, JPKI_EF_SIGN_CA, "signca.der"), 1);
	verify_ok(l, JPKI_KEY_SIGN);
	counts_clear(l);
	assert_int_equal(read_and_check(l, JPKI_EF_SIGN_CERT, "sign.der"), 1);
	assert_int_equal(l->card.apdu_count, 2);
	link_free(l);
}

/* The first bytes of a certificate in one short READ BINARY, then the rest
 * from where they end: the same certificate, no byte read twice, the EF
 * selected once. */
static void test_prefix_then_rest(void **state)
{
	(void)state;
	size_t want_len;
	uint8_t *want = pki_file("auth.der", &want_len);
	size_t id_len = jpki_cert_identity_len(want, want_len);
	assert_true(id_len > 40 && id_len < 256);
	for (int ext = 0; ext < 2; ext++) {
		link_opts o = {.persona = SIM_PERSONA_CARD,
		               .link_extended = ext != 0,
		               .phone_extended = ext != 0};
		simlink *l = link_new(&o);
		uint8_t prefix[256];
		size_t got = 0;
		assert_int_equal(
		    jpki_read_cert_prefix(&l->card, JPKI_EF_AUTH_CERT, id_len, prefix, &got),
		    KZ_OK);
		assert_int_equal(got, id_len);
		assert_memory_equal(prefix, want, id_len);
		assert_int_equal(l->card.apdu_count, 3); /* SELECT AP, SELECT EF, READ */
		uint8_t *der = NULL;
		size_t len = 0;
		assert_int_equal(jpki_read_certificate_rest(&l->card, JPKI_EF_AUTH_CERT, prefix,
		                                            got, &der, &len),
		                 KZ_OK);
		assert_int_equal(len, want_len);
		assert_memory_equal(der, want, len);
		free(der);
		assert_int_equal(l->by_ins[INS_SELECT], 2);
		assert_int_equal(l->by_ins[INS_READ_BINARY],
		                 1 + (ext ? 1 : chunks(want_len - id_len)));
		/* a prefix that holds it all: nothing more is sent */
		counts_clear(l);
		assert_int_equal(jpki_read_certificate_rest(&l->card, JPKI_EF_AUTH_CERT, want,
		                                            want_len, &der, &len),
		                 KZ_OK);
		assert_int_equal(len, want_len);
		free(der);
		assert_int_equal(l->card.apdu_count, 0);
		/* what cannot be asked in one short READ BINARY, and junk */
		assert_int_equal(
		    jpki_read_cert_prefix(&l->card, JPKI_EF_AUTH_CERT, 0, prefix, &got), KZ_E_ARGS);
		assert_int_equal(
		    jpki_read_cert_prefix(&l->card, JPKI_EF_AUTH_CERT, 257, prefix, &got),
		    KZ_E_ARGS);
		/* not a DER SEQUENCE (the version field): no read at all */
		assert_int_equal(jpki_read_certificate_rest(&l->card, JPKI_EF_AUTH_CERT, want + 8,
		                                            10, &der, &len),
		                 KZ_E_PROTOCOL);
		assert_int_equal(l->card.apdu_count, 0);
		assert_null(der);
		link_free(l);
	}
	/* a phone's user-authentication certificate is behind the PIN */
	simlink *l = link_persona(SIM_PERSONA_ANDROID);
	uint8_t prefix[256];
	size_t got = 1;
	assert_int_equal(jpki_read_cert_prefix(&l->card, JPKI_EF_AUTH_CERT, id_len, prefix, &got),
	                 KZ_E_SECURITY);
	assert_int_equal(got, 0);
	link_free(l);
	free(want);
}

/* A phone that refuses extended APDUs costs one refused read, once. */
static void test_extended_refused(void **state)
{
	(void)state;
	link_opts o = {.persona = SIM_PERSONA_CARD, .link_extended = true};
	simlink *l = link_new(&o);
	assert_int_equal(read_and_check(l, JPKI_EF_AUTH_CERT, "auth.der"),
	                 1 + chunks(file_len("auth.der")));
	assert_int_equal(l->card.extended, JPKI_EXT_NO);
	assert_int_equal(read_and_check(l, JPKI_EF_AUTH_CA, "authca.der"),
	                 chunks(file_len("authca.der")));
	/* still known after the state is forgotten (a new tap of the same card) */
	jpki_card_forget(&l->card);
	assert_int_equal(read_and_check(l, JPKI_EF_SIGN_CA, "signca.der"),
	                 chunks(file_len("signca.der")));
	link_free(l);
}

/* A reader that cannot carry extended APDUs: never tried. */
static void test_extended_link_short(void **state)
{
	(void)state;
	link_opts o = {.persona = SIM_PERSONA_CARD, .phone_extended = true};
	simlink *l = link_new(&o);
	assert_int_equal(read_and_check(l, JPKI_EF_AUTH_CA, "authca.der"),
	                 chunks(file_len("authca.der")));
	assert_int_equal(l->card.extended, JPKI_EXT_UNKNOWN);
	link_free(l);
}

/* EFs larger than their certificate (zero padded, as on cards): the reads
 * stop at the DER length, and an extended read drops the padding. */
static void test_padded_ef(void **state)
{
	(void)state;
	for (int ext = 0; ext < 2; ext++) {
		link_opts o = {.persona = SIM_PERSONA_CARD,
		               .link_extended = ext != 0,
		               .phone_extended = ext != 0,
		               .cert_ef_size = 4096};
		simlink *l = link_new(&o);
		assert_int_equal(read_and_check(l, JPKI_EF_AUTH_CERT, "auth.der"),
		                 ext ? 1 : chunks(file_len("auth.der")));
		assert_int_equal(read_and_check(l, JPKI_EF_SIGN_CA, "signca.der"),
		                 ext ? 1 : chunks(file_len("signca.der")));
		link_free(l);
	}
}

static void test_no_reselect(void **state)
{
	(void)state;
	simlink *l = link_persona(SIM_PERSONA_CARD);
	read_and_check(l, JPKI_EF_AUTH_CA, "authca.der");
	assert_int_equal(l->by_ins[INS_SELECT], 2);
	read_and_check(l, JPKI_EF_AUTH_CA, "authca.der");
	assert_int_equal(l->by_ins[INS_SELECT], 2);
	read_and_check(l, JPKI_EF_AUTH_CERT, "auth.der");
	assert_int_equal(l->by_ins[INS_SELECT], 3);
	link_free(l);
}

static void test_sign_cert_needs_password(void **state)
{
	(void)state;
	for (int ext = 0; ext < 2; ext++) {
		link_opts o = {.persona = SIM_PERSONA_CARD,
		               .link_extended = ext != 0,
		               .phone_extended = ext != 0};
		simlink *l = link_new(&o);
		uint8_t *der = (uint8_t *)1;
		size_t len = 1;
		assert_int_equal(jpki_read_certificate(&l->card, JPKI_EF_SIGN_CERT, &der, &len),
		                 KZ_E_SECURITY);
		assert_null(der);
		assert_int_equal(len, 0);
		/* a security refusal says nothing of extended support */
		assert_int_equal(l->card.extended, JPKI_EXT_UNKNOWN);
		link_free(l);
	}
}

static void test_phone_auth_cert_needs_pin(void **state)
{
	(void)state;
	static const sim_persona phones[] = {SIM_PERSONA_ANDROID, SIM_PERSONA_IPHONE};
	for (size_t i = 0; i < 2; i++) {
		for (int ext = 0; ext < 2; ext++) {
			link_opts o = {.persona = phones[i],
			               .link_extended = ext != 0,
			               .phone_extended = ext != 0};
			simlink *l = link_new(&o);
			uint8_t *der = NULL;
			size_t len = 0;
			assert_int_equal(
			    jpki_read_certificate(&l->card, JPKI_EF_AUTH_CERT, &der, &len),
			    KZ_E_SECURITY);
			assert_null(der);
			/* the CA certificate is free */
			read_and_check(l, JPKI_EF_AUTH_CA, "authca.der");
			verify_ok(l, JPKI_KEY_AUTH);
			assert_int_equal(read_and_check(l, JPKI_EF_AUTH_CERT, "auth.der"),
			                 ext ? 1 : chunks(file_len("auth.der")));
			link_free(l);
		}
	}
}

static void test_missing_file(void **state)
{
	(void)state;
	simlink *l = link_persona(SIM_PERSONA_CARD);
	uint8_t *der = NULL;
	size_t len;
	assert_int_equal(jpki_read_certificate(&l->card, 0x1234, &der, &len), KZ_E_NOT_FOUND);
	assert_null(der);
	assert_int_equal(l->card.selected_fid, -1);
	link_free(l);
}

/* ---- PINs ---------------------------------------------------------------- */

static kz_err verify_str(simlink *l, jpki_key key, const char *pin, int *tries)
{
	return jpki_verify(&l->card, key, (const uint8_t *)pin, strlen(pin), tries);
}

static void test_verify_auth(void **state)
{
	(void)state;
	simlink *l = link_persona(SIM_PERSONA_CARD);
	int tries = -2;
	assert_int_equal(jpki_pin_tries(&l->card, JPKI_KEY_AUTH, &tries), KZ_OK);
	assert_int_equal(tries, 3);
	/* SELECT AP, SELECT PIN EF, VERIFY */
	assert_int_equal(l->card.apdu_count, 3);

	assert_int_equal(verify_str(l, JPKI_KEY_AUTH, "0000", &tries), KZ_E_PIN_INCORRECT);
	assert_int_equal(tries, 2);
	assert_false(l->card.verified[JPKI_KEY_AUTH]);
	assert_int_equal(l->card.apdu_count, 4); /* PIN EF still selected */
	assert_int_equal(jpki_pin_tries(&l->card, JPKI_KEY_AUTH, &tries), KZ_OK);
	assert_int_equal(tries, 2);

	assert_int_equal(verify_str(l, JPKI_KEY_AUTH, "1234", &tries), KZ_OK);
	assert_int_equal(tries, 3);
	assert_true(l->card.verified[JPKI_KEY_AUTH]);
	assert_int_equal(sim_phone_tries_left(l->phone, false), 3);
	assert_int_equal(jpki_pin_tries(&l->card, JPKI_KEY_AUTH, &tries), KZ_OK);
	assert_int_equal(tries, 3);

	/* wrong three times: 2, 1, then the last try blocks */
	assert_int_equal(verify_str(l, JPKI_KEY_AUTH, "1111", &tries), KZ_E_PIN_INCORRECT);
	assert_int_equal(tries, 2);
	assert_false(l->card.verified[JPKI_KEY_AUTH]);
	assert_int_equal(verify_str(l, JPKI_KEY_AUTH, "2222", &tries), KZ_E_PIN_INCORRECT);
	assert_int_equal(tries, 1);
	assert_int_equal(verify_str(l, JPKI_KEY_AUTH, "3333", &tries), KZ_E_PIN_LOCKED);
	assert_int_equal(tries, 0);
	/* blocked: even the right PIN */
	assert_int_equal(verify_str(l, JPKI_KEY_AUTH, "1234", &tries), KZ_E_PIN_LOCKED);
	assert_int_equal(tries, 0);
	assert_int_equal(jpki_pin_tries(&l->card, JPKI_KEY_AUTH, &tries), KZ_OK);
	assert_int_equal(tries, 0);
	/* the other PIN is untouched */
	assert_int_equal(jpki_pin_tries(&l->card, JPKI_KEY_SIGN, &tries), KZ_OK);
	assert_int_equal(tries, 5);
	link_free(l);
}

static void test_verify_sign(void **state)
{
	(void)state;
	simlink *l = link_persona(SIM_PERSONA_ANDROID);
	int tries = -2;
	assert_int_equal(verify_str(l, JPKI_KEY_SIGN, "WRONG1", &tries), KZ_E_PIN_INCORRECT);
	assert_int_equal(tries, 4);
	assert_int_equal(verify_str(l, JPKI_KEY_SIGN, "ABC123", &tries), KZ_OK);
	assert_int_equal(tries, 5);
	assert_int_equal(sim_phone_tries_left(l->phone, true), 5);
	/* a NULL tries pointer is fine */
	assert_int_equal(verify_str(l, JPKI_KEY_SIGN, "ABC123", NULL), KZ_OK);
	link_free(l);
}

static void test_blocked_from_start(void **state)
{
	(void)state;
	link_opts o = {.persona = SIM_PERSONA_CARD, .auth_tries = -1};
	simlink *l = link_new(&o);
	int tries = -2;
	assert_int_equal(jpki_pin_tries(&l->card, JPKI_KEY_AUTH, &tries), KZ_OK);
	assert_int_equal(tries, 0);
	assert_int_equal(verify_str(l, JPKI_KEY_AUTH, "1234", &tries), KZ_E_PIN_LOCKED);
	assert_int_equal(tries, 0);
	link_free(l);
}

static void test_verify_args(void **state)
{
	(void)state;
	simlink *l = link_persona(SIM_PERSONA_CARD);
	int tries = -2;
	static uint8_t long_pin[256];
	assert_int_equal(jpki_verify(&l->card, JPKI_KEY_AUTH, (const uint8_t *)"", 0, &tries),
	                 KZ_E_PIN_LENGTH);
	assert_int_equal(jpki_verify(&l->card, JPKI_KEY_AUTH, long_pin, 256, &tries),
	                 KZ_E_PIN_LENGTH);
	assert_int_equal(jpki_verify(&l->card, JPKI_KEY_AUTH, NULL, 4, &tries), KZ_E_ARGS);
	assert_int_equal(jpki_verify(&l->card, (jpki_key)5, long_pin, 4, &tries), KZ_E_ARGS);
	assert_int_equal(jpki_verify(NULL, JPKI_KEY_AUTH, long_pin, 4, &tries), KZ_E_ARGS);
	assert_int_equal(jpki_pin_tries(&l->card, (jpki_key)5, &tries), KZ_E_ARGS);
	assert_int_equal(l->card.apdu_count, 0);
	link_free(l);
}

static void test_change_pin(void **state)
{
	(void)state;
	simlink *l = link_persona(SIM_PERSONA_CARD);
	int tries;
	/* not verified in this tap: refused without an APDU */
	assert_int_equal(jpki_change_pin(&l->card, JPKI_KEY_AUTH, (const uint8_t *)"5678", 4),
	                 KZ_E_SECURITY);
	assert_int_equal(l->card.apdu_count, 0);

	verify_ok(l, JPKI_KEY_AUTH);
	counts_clear(l);
	assert_int_equal(jpki_change_pin(&l->card, JPKI_KEY_AUTH, (const uint8_t *)"5678", 4),
	                 KZ_OK);
	assert_int_equal(l->card.apdu_count, 1); /* the PIN EF is still selected */
	assert_int_equal(l->by_ins[INS_CHANGE], 1);

	/* the card refuses a form it cannot take */
	assert_int_equal(jpki_change_pin(&l->card, JPKI_KEY_AUTH, (const uint8_t *)"56789", 5),
	                 KZ_E_PIN_FORMAT);

	/* log out (AP select), then the old PIN is wrong and the new one right */
	assert_int_equal(jpki_select_app(&l->card), KZ_OK);
	assert_false(l->card.verified[JPKI_KEY_AUTH]);
	assert_int_equal(verify_str(l, JPKI_KEY_AUTH, "1234", &tries), KZ_E_PIN_INCORRECT);
	assert_int_equal(verify_str(l, JPKI_KEY_AUTH, "5678", &tries), KZ_OK);
	assert_int_equal(tries, 3);

	/* signature password too */
	verify_ok(l, JPKI_KEY_SIGN);
	assert_int_equal(jpki_change_pin(&l->card, JPKI_KEY_SIGN, (const uint8_t *)"NEWPW9", 6),
	                 KZ_OK);
	assert_int_equal(jpki_select_app(&l->card), KZ_OK);
	assert_int_equal(verify_str(l, JPKI_KEY_SIGN, "NEWPW9", &tries), KZ_OK);
	link_free(l);
}

/* ---- signing ------------------------------------------------------------- */

static void sign_and_check(simlink *l, jpki_key key, const uint8_t *in, size_t in_len)
{
	uint8_t sig[JPKI_SIGNATURE_LEN];
	size_t sig_len = 0;
	assert_int_equal(jpki_sign(&l->card, key, in, in_len, sig, &sig_len), KZ_OK);
	assert_int_equal(sig_len, JPKI_SIGNATURE_LEN);

	uint8_t *der = NULL;
	size_t der_len = 0;
	assert_int_equal(jpki_read_certificate(&l->card, jpki_cert_fid(key), &der, &der_len),
	                 KZ_OK);
	jpki_cert cert;
	assert_int_equal(jpki_cert_parse(der, der_len, &cert), KZ_OK);
	assert_int_equal(jpki_cert_verify_raw(&cert, in, in_len, sig, sig_len), KZ_OK);
	sig[7] ^= 1;
	assert_int_equal(jpki_cert_verify_raw(&cert, in, in_len, sig, sig_len), KZ_E_PROTOCOL);
	jpki_cert_clear(&cert);
	free(der);
}

static void test_sign(void **state)
{
	(void)state;
	simlink *l = link_persona(SIM_PERSONA_CARD);
	uint8_t sig[JPKI_SIGNATURE_LEN];
	size_t sig_len = 1;

	assert_int_equal(
	    jpki_sign(&l->card, JPKI_KEY_AUTH, digest_info, sizeof digest_info, sig, &sig_len),
	    KZ_E_SECURITY);
	assert_int_equal(sig_len, 0);

	verify_ok(l, JPKI_KEY_AUTH);
	counts_clear(l);
	uint8_t s2[JPKI_SIGNATURE_LEN];
	assert_int_equal(
	    jpki_sign(&l->card, JPKI_KEY_AUTH, digest_info, sizeof digest_info, s2, &sig_len),
	    KZ_OK);
	/* SELECT key EF, COMPUTE DIGITAL SIGNATURE */
	assert_int_equal(l->card.apdu_count, 2);
	assert_int_equal(l->by_ins[INS_SIGN], 1);
	sign_and_check(l, JPKI_KEY_AUTH, digest_info, sizeof digest_info);

	/* raw input of the largest size the card pads, and of one byte */
	uint8_t raw[JPKI_SIGN_INPUT_MAX];
	memset(raw, 0x5C, sizeof raw);
	sign_and_check(l, JPKI_KEY_AUTH, raw, sizeof raw);
	sign_and_check(l, JPKI_KEY_AUTH, raw, 1);

	verify_ok(l, JPKI_KEY_SIGN);
	sign_and_check(l, JPKI_KEY_SIGN, digest_info, sizeof digest_info);

	/* after a logout the card refuses, and the layer knows it */
	assert_int_equal(jpki_select_app(&l->card), KZ_OK);
	assert_int_equal(
	    jpki_sign(&l->card, JPKI_KEY_SIGN, digest_info, sizeof digest_info, sig, &sig_len),
	    KZ_E_SECURITY);
	assert_false(l->card.verified[JPKI_KEY_SIGN]);
	link_free(l);
}

static void test_sign_lengths(void **state)
{
	(void)state;
	simlink *l = link_persona(SIM_PERSONA_CARD);
	uint8_t in[JPKI_SIGN_INPUT_MAX + 1];
	uint8_t sig[JPKI_SIGNATURE_LEN];
	size_t sig_len;
	memset(in, 1, sizeof in);
	assert_int_equal(jpki_sign(&l->card, JPKI_KEY_AUTH, in, 0, sig, &sig_len), KZ_E_DATA_LEN);
	assert_int_equal(jpki_sign(&l->card, JPKI_KEY_AUTH, in, sizeof in, sig, &sig_len),
	                 KZ_E_DATA_LEN);
	assert_int_equal(jpki_sign(&l->card, JPKI_KEY_AUTH, NULL, 5, sig, &sig_len), KZ_E_ARGS);
	assert_int_equal(jpki_sign(&l->card, JPKI_KEY_AUTH, in, 5, NULL, &sig_len), KZ_E_ARGS);
	assert_int_equal(l->card.apdu_count, 0);
	link_free(l);
}

/* ---- the phone leaves at every APDU of a flow ---------------------------- */

/* One cold-tap flow: what a relying party does. Returns the first error. */
static kz_err run_flow(simlink *l)
{
	char text[JPKI_TOKEN_INFO_LEN + 1];
	jpki_model model;
	uint8_t *der = NULL;
	size_t len;
	int tries;
	uint8_t sig[JPKI_SIGNATURE_LEN];
	size_t sig_len;
	kz_err err;

	if ((err = jpki_select_app(&l->card)) != KZ_OK ||
	    (err = jpki_read_token_info(&l->card, text, &model)) != KZ_OK ||
	    (err = jpki_pin_tries(&l->card, JPKI_KEY_AUTH, &tries)) != KZ_OK ||
	    (err = jpki_verify(&l->card, JPKI_KEY_AUTH, (const uint8_t *)"1234", 4, &tries)) !=
	        KZ_OK)
		return err;
	err = jpki_read_certificate(&l->card, JPKI_EF_AUTH_CERT, &der, &len);
	free(der);
	if (err != KZ_OK)
		return err;
	err = jpki_read_certificate(&l->card, JPKI_EF_AUTH_CA, &der, &len);
	free(der);
	if (err != KZ_OK)
		return err;
	if ((err = jpki_sign(&l->card, JPKI_KEY_AUTH, digest_info, sizeof digest_info, sig,
	                     &sig_len)) != KZ_OK ||
	    (err = jpki_verify(&l->card, JPKI_KEY_SIGN, (const uint8_t *)"ABC123", 6, &tries)) !=
	        KZ_OK ||
	    (err = jpki_change_pin(&l->card, JPKI_KEY_SIGN, (const uint8_t *)"ABC123", 6)) != KZ_OK)
		return err;
	return KZ_OK;
}

static void leave_everywhere(link_opts o)
{
	o.leave_at = 0;
	simlink *l = link_new(&o);
	assert_int_equal(run_flow(l), KZ_OK);
	unsigned long total = sim_phone_apdu_count(l->phone);
	link_free(l);
	assert_true(total > 10);

	for (unsigned long k = 1; k <= total; k++) {
		o.leave_at = k;
		l = link_new(&o);
		assert_int_equal(run_flow(l), KZ_E_REMOVED);
		/* the phone got exactly k APDUs: nothing after the loss */
		assert_int_equal(sim_phone_apdu_count(l->phone), k);
		assert_false(l->card.ap_selected);
		assert_int_equal(l->card.selected_fid, -1);
		assert_false(l->card.verified[JPKI_KEY_AUTH]);
		/* a lost VERIFY is not retried and cost no try */
		assert_int_equal(sim_phone_tries_left(l->phone, false), 3);
		assert_int_equal(sim_phone_tries_left(l->phone, true), 5);
		/* a new tap in the same process works */
		sim_phone_reset(l->phone);
		assert_int_equal(run_flow(l), KZ_OK);
		link_free(l);
	}
}

static void test_leave_at_every_apdu(void **state)
{
	(void)state;
	static const sim_persona personas[] = {SIM_PERSONA_CARD, SIM_PERSONA_ANDROID};
	for (size_t i = 0; i < 2; i++) {
		for (int ext = 0; ext < 3; ext++) {
			/* 0 short, 1 extended, 2 extended refused by the phone */
			link_opts o = {.persona = personas[i],
			               .link_extended = ext != 0,
			               .phone_extended = ext == 1};
			leave_everywhere(o);
		}
	}
}

/* ---- a hostile card ------------------------------------------------------ */

#define SCRIPT_MAX 24

/* Answers from a script, one per command; records the commands. */
typedef struct script {
	kz_transport t;
	jpki_card card;
	const uint8_t *resp[SCRIPT_MAX];
	size_t len[SCRIPT_MAX];
	size_t n, next;
	bool overclaim;          /* report one byte more than the buffer holds */
	kz_err fail[SCRIPT_MAX]; /* a transport error instead of an answer */
	uint8_t cmd[SCRIPT_MAX][300];
	size_t cmd_len[SCRIPT_MAX];
} script;

static kz_err script_tx(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                        size_t *resp_len)
{
	script *s = ctx;
	if (s->next >= s->n)
		return KZ_E_REMOVED;
	size_t i = s->next++;
	s->cmd_len[i] = cmd_len < 300 ? cmd_len : 300;
	memcpy(s->cmd[i], cmd, s->cmd_len[i]);
	if (s->fail[i] != KZ_OK)
		return s->fail[i];
	if (s->len[i] > *resp_len)
		return KZ_E_COMM;
	memcpy(resp, s->resp[i], s->len[i]);
	*resp_len = s->overclaim ? *resp_len + 1 : s->len[i];
	return KZ_OK;
}

static script *script_new(bool extended)
{
	script *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->t.transmit = script_tx;
	s->t.ctx = s;
	s->t.name = "script";
	s->t.extended_ok = extended;
	s->t.max_cmd = extended ? KZ_APDU_EXT_CMD_MAX : KZ_APDU_SHORT_CMD_MAX;
	s->t.max_resp = extended ? KZ_APDU_EXT_RESP_MAX : KZ_APDU_SHORT_RESP_MAX;
	jpki_card_init(&s->card, &s->t);
	return s;
}

static void script_add(script *s, const uint8_t *resp, size_t len)
{
	assert_true(s->n < SCRIPT_MAX);
	s->resp[s->n] = resp;
	s->len[s->n] = len;
	s->n++;
}

static const uint8_t sw_ok[] = {0x90, 0x00};

/* SELECT AP and SELECT EF both answered 9000. */
static script *script_selected(bool extended)
{
	script *s = script_new(extended);
	script_add(s, sw_ok, 2);
	script_add(s, sw_ok, 2);
	return s;
}

static void test_hostile_select(void **state)
{
	(void)state;
	static const uint8_t one[] = {0x90};
	static const uint8_t data[] = {0x6F, 0x90, 0x00};
	static const uint8_t not_found[] = {0x6A, 0x82};
	const struct {
		const uint8_t *resp;
		size_t len;
		kz_err err;
	} cases[] = {
	    {sw_ok, 0, KZ_E_PROTOCOL}, /* empty */
	    {one, 1, KZ_E_PROTOCOL},
	    {data, 3, KZ_E_PROTOCOL}, /* data where none was asked for */
	    {not_found, 2, KZ_E_NOT_FOUND},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		script *s = script_new(false);
		script_add(s, cases[i].resp, cases[i].len);
		assert_int_equal(jpki_select_app(&s->card), cases[i].err);
		assert_false(s->card.ap_selected);
		free(s);
	}
}

static void test_hostile_overclaim(void **state)
{
	(void)state;
	script *s = script_new(false);
	script_add(s, sw_ok, 2);
	s->overclaim = true;
	assert_int_equal(jpki_select_app(&s->card), KZ_E_PROTOCOL);
	free(s);
}

static kz_err token_info_with(const uint8_t *resp, size_t len, char *text)
{
	script *s = script_selected(false);
	script_add(s, resp, len);
	jpki_model model;
	kz_err err = jpki_read_token_info(&s->card, text, &model);
	free(s);
	return err;
}

static void test_hostile_token_info(void **state)
{
	(void)state;
	char text[JPKI_TOKEN_INFO_LEN + 1];
	uint8_t r[40];
	/* 33 bytes for an Le of 32 */
	memset(r, 'A', 33);
	r[33] = 0x90;
	r[34] = 0x00;
	assert_int_equal(token_info_with(r, 35, text), KZ_E_PROTOCOL);
	/* no data */
	assert_int_equal(token_info_with(sw_ok, 2, text), KZ_E_PROTOCOL);
	/* a control character in the text */
	memcpy(r, "JPKIAP\nCTOKEN2", 14);
	memset(r + 14, ' ', 18);
	r[32] = 0x90;
	r[33] = 0x00;
	assert_int_equal(token_info_with(r, 34, text), KZ_E_PROTOCOL);
	/* non-ASCII */
	r[6] = 0xC3;
	assert_int_equal(token_info_with(r, 34, text), KZ_E_PROTOCOL);
	/* trailing NULs and spaces go; an unknown name is no error */
	memcpy(r, "SOMETHINGELSE", 13);
	memset(r + 13, 0, 10);
	memset(r + 23, ' ', 9);
	assert_int_equal(token_info_with(r, 34, text), KZ_OK);
	assert_string_equal(text, "SOMETHINGELSE");
	/* a short file (6282) is read as far as it goes */
	static const uint8_t shortf[] = {'J', 'P', 'K', 'I', 'A', 'P', 'G',  'P', 'S',
	                                 'E', 'T', 'O', 'K', 'E', 'N', 0x62, 0x82};
	assert_int_equal(token_info_with(shortf, sizeof shortf, text), KZ_OK);
	assert_string_equal(text, "JPKIAPGPSETOKEN");
}

/* Read a certificate whose READ BINARY answers are the given ones. */
static kz_err cert_with(script *s)
{
	uint8_t *der = (uint8_t *)1;
	size_t len = 1;
	kz_err err = jpki_read_certificate(&s->card, JPKI_EF_AUTH_CA, &der, &len);
	if (err == KZ_OK)
		free(der);
	else {
		assert_null(der);
		assert_int_equal(len, 0);
	}
	return err;
}

/* A first chunk of 256 bytes with the given DER header, and a status. */
static void chunk(uint8_t out[258], const uint8_t *head, size_t head_len, uint16_t sw)
{
	memset(out, 0x41, 256);
	memcpy(out, head, head_len);
	out[256] = (uint8_t)(sw >> 8);
	out[257] = (uint8_t)sw;
}

static void test_hostile_der_header(void **state)
{
	(void)state;
	static uint8_t r[258];
	static const struct {
		uint8_t head[5];
		size_t len;
	} bad[] = {
	    {{0x30, 0x82, 0x80, 0x00}, 4}, /* 32 KiB */
	    {{0x30, 0x82, 0x20, 0x01}, 4}, /* just over 8 KiB */
	    {{0x30, 0x83, 0x00, 0x04, 0x00}, 5},
	    {{0x30, 0x84}, 2},
	    {{0x30, 0x80}, 2}, /* indefinite length */
	    {{0x31, 0x82, 0x04, 0x00}, 4},
	    {{0x00, 0x00}, 2},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		script *s = script_selected(false);
		chunk(r, bad[i].head, bad[i].len, 0x9000);
		script_add(s, r, sizeof r);
		assert_int_equal(cert_with(s), KZ_E_PROTOCOL);
		assert_int_equal(s->next, 3); /* nothing read after the header */
		free(s);
	}
	/* the same through an extended read of the whole file */
	static uint8_t big[40002];
	memset(big, 0, sizeof big);
	memcpy(big, "\x30\x82\x9c\x3c", 4); /* 40000 bytes */
	big[40000] = 0x90;
	script *s = script_selected(true);
	script_add(s, big, sizeof big);
	assert_int_equal(cert_with(s), KZ_E_PROTOCOL);
	free(s);
	/* a tiny file shorter than its own header */
	static const uint8_t tiny[] = {0x30, 0x82, 0x62, 0x82};
	s = script_selected(false);
	script_add(s, tiny, sizeof tiny);
	assert_int_equal(cert_with(s), KZ_E_PROTOCOL);
	free(s);
}

static void test_hostile_cert_reads(void **state)
{
	(void)state;
	static uint8_t first[258];
	static uint8_t eof[102];
	static const uint8_t wrong_offset[] = {0x6B, 0x00};
	static const uint8_t security[] = {0x69, 0x82};
	static const uint8_t long_resp[260] = {0};
	static const uint8_t hdr[] = {0x30, 0x82, 0x02, 0x54}; /* 600 bytes */
	chunk(first, hdr, 4, 0x9000);
	memset(eof, 0x42, 100);
	eof[100] = 0x62;
	eof[101] = 0x82;

	/* the file ends (6282) before the DER does */
	script *s = script_selected(false);
	script_add(s, first, sizeof first);
	script_add(s, eof, sizeof eof);
	assert_int_equal(cert_with(s), KZ_E_PROTOCOL);
	assert_int_equal(s->card.selected_fid, -1); /* in doubt: select again */
	free(s);

	/* 6B00 before the end */
	s = script_selected(false);
	script_add(s, first, sizeof first);
	script_add(s, wrong_offset, 2);
	assert_int_equal(cert_with(s), KZ_E_PROTOCOL);
	free(s);

	/* 9000 with no data: no progress, no endless loop */
	s = script_selected(false);
	script_add(s, first, sizeof first);
	script_add(s, sw_ok, 2);
	assert_int_equal(cert_with(s), KZ_E_PROTOCOL);
	free(s);

	/* more than asked for: 100 bytes for the last 88 */
	static uint8_t second[258];
	static uint8_t long_third[102];
	memset(second, 0x43, 256);
	second[256] = 0x90;
	second[257] = 0x00;
	memset(long_third, 0x44, 100);
	long_third[100] = 0x90;
	long_third[101] = 0x00;
	s = script_selected(false);
	script_add(s, first, sizeof first);
	script_add(s, second, sizeof second);
	script_add(s, long_third, sizeof long_third);
	assert_int_equal(cert_with(s), KZ_E_PROTOCOL);
	free(s);

	/* more than the largest short answer: the reader refuses it */
	s = script_selected(false);
	script_add(s, long_resp, sizeof long_resp);
	assert_int_equal(cert_with(s), KZ_E_COMM);
	assert_false(s->card.ap_selected);
	free(s);

	/* 6982 in the middle */
	s = script_selected(false);
	script_add(s, first, sizeof first);
	script_add(s, security, 2);
	assert_int_equal(cert_with(s), KZ_E_SECURITY);
	free(s);

	/* the second read asks exactly the rest: 600 - 256 = 256, then 88 */
	static uint8_t third[90];
	memset(third, 0x44, 88);
	third[88] = 0x90;
	third[89] = 0x00;
	s = script_selected(false);
	script_add(s, first, sizeof first);
	script_add(s, second, sizeof second);
	script_add(s, third, sizeof third);
	assert_int_equal(cert_with(s), KZ_OK);
	static const uint8_t read1[] = {0x00, 0xB0, 0x00, 0x00, 0x00};
	static const uint8_t read2[] = {0x00, 0xB0, 0x01, 0x00, 0x00};
	static const uint8_t read3[] = {0x00, 0xB0, 0x02, 0x00, 0x58};
	assert_memory_equal(s->cmd[2], read1, 5);
	assert_memory_equal(s->cmd[3], read2, 5);
	assert_memory_equal(s->cmd[4], read3, 5);
	free(s);
}

/* Extended read: refusals fall back, an early stop with 9000 continues with
 * short reads from where it stopped. */
static void test_hostile_extended(void **state)
{
	(void)state;
	static const uint8_t refusals[][2] = {{0x67, 0x00}, {0x6D, 0x00}, {0x6E, 0x00},
	                                      {0x6A, 0x86}, {0x68, 0x81}, {0x6F, 0x00}};
	static uint8_t first[258];
	static uint8_t rest[90];
	static const uint8_t hdr[] = {0x30, 0x82, 0x01, 0x54}; /* 344 bytes */
	chunk(first, hdr, 4, 0x9000);
	memset(rest, 0x44, 88);
	rest[88] = 0x90;
	rest[89] = 0x00;
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		script *s = script_selected(true);
		script_add(s, refusals[i], 2);
		script_add(s, first, sizeof first);
		script_add(s, rest, sizeof rest);
		assert_int_equal(cert_with(s), KZ_OK);
		assert_int_equal(s->card.extended, JPKI_EXT_NO);
		assert_int_equal(s->cmd_len[2], 7); /* 00 B0 00 00 00 00 00 */
		assert_int_equal(s->cmd_len[3], 5);
		free(s);
	}
	/* extended gives the first 256 bytes with 9000: go on from there */
	script *s = script_selected(true);
	script_add(s, first, sizeof first);
	script_add(s, rest, sizeof rest);
	assert_int_equal(cert_with(s), KZ_OK);
	assert_int_equal(s->card.extended, JPKI_EXT_YES);
	static const uint8_t read2[] = {0x00, 0xB0, 0x01, 0x00, 0x58};
	assert_memory_equal(s->cmd[3], read2, 5);
	free(s);
	/* extended gives part of it and 6282: the file is short */
	static uint8_t part[258];
	chunk(part, hdr, 4, 0x6282);
	s = script_selected(true);
	script_add(s, part, sizeof part);
	assert_int_equal(cert_with(s), KZ_E_PROTOCOL);
	free(s);
}

/* A reader that fails an extended exchange instead of passing on the
 * card's refusal: in the same call, the file is selected again (not the
 * application, which would lose a verified PIN) and read in short APDUs;
 * the next read is short from the start. */
static void test_extended_link_failure(void **state)
{
	(void)state;
	static uint8_t first[258];
	static uint8_t rest[90];
	static const uint8_t hdr[] = {0x30, 0x82, 0x01, 0x54}; /* 344 bytes */
	chunk(first, hdr, 4, 0x9000);
	memset(rest, 0x44, 88);
	rest[88] = 0x90;
	rest[89] = 0x00;
	script *s = script_selected(true);
	assert_int_equal(jpki_select_app(&s->card), KZ_OK);
	s->card.verified[JPKI_KEY_AUTH] = true; /* as after a VERIFY */
	script_add(s, sw_ok, 2);                /* the extended READ BINARY: fails */
	s->fail[2] = KZ_E_COMM;
	script_add(s, sw_ok, 2); /* SELECT EF again */
	script_add(s, first, sizeof first);
	script_add(s, rest, sizeof rest);
	assert_int_equal(cert_with(s), KZ_OK);
	assert_int_equal(s->next, 6);
	assert_int_equal(s->cmd_len[2], 7); /* 00 B0 00 00 00 00 00 */
	assert_memory_equal(s->cmd[3], "\x00\xA4\x02\x0C\x02", 5);
	assert_int_equal(s->cmd_len[4], 5);
	assert_int_equal(s->card.extended, JPKI_EXT_NO);
	assert_true(s->card.ap_selected);
	assert_true(s->card.verified[JPKI_KEY_AUTH]);
	/* the next certificate: short reads, no extended attempt */
	s->card.selected_fid = -1;
	script_add(s, sw_ok, 2);
	script_add(s, first, sizeof first);
	script_add(s, rest, sizeof rest);
	assert_int_equal(cert_with(s), KZ_OK);
	assert_int_equal(s->cmd_len[7], 5);
	free(s);

	/* the short read after the failure fails too: nothing of the
	 * card's state is trusted any more */
	s = script_selected(true);
	script_add(s, sw_ok, 2);
	s->fail[2] = KZ_E_COMM;
	script_add(s, sw_ok, 2);
	script_add(s, sw_ok, 2);
	s->fail[4] = KZ_E_COMM;
	assert_int_equal(cert_with(s), KZ_E_COMM);
	assert_false(s->card.ap_selected);
	assert_int_equal(s->card.selected_fid, -1);
	free(s);

	/* a phone that leaves during the extended read teaches nothing */
	s = script_selected(true);
	script_add(s, sw_ok, 2);
	s->fail[2] = KZ_E_REMOVED;
	assert_int_equal(cert_with(s), KZ_E_REMOVED);
	assert_int_equal(s->card.extended, JPKI_EXT_UNKNOWN);
	free(s);
}

/* 61xx: GET RESPONSE, bounded. */
static void test_hostile_get_response(void **state)
{
	(void)state;
	char text[JPKI_TOKEN_INFO_LEN + 1];
	jpki_model model;
	static const uint8_t more16[] = {0x61, 0x10};
	static uint8_t half1[18], half2[18];
	memcpy(half1, "JPKIAPICCTOKEN2 ", 16);
	half1[16] = 0x61;
	half1[17] = 0x10;
	memset(half2, ' ', 16);
	half2[16] = 0x90;
	half2[17] = 0x00;

	script *s = script_selected(false);
	script_add(s, more16, 2);
	script_add(s, half1, sizeof half1);
	script_add(s, half2, sizeof half2);
	assert_int_equal(jpki_read_token_info(&s->card, text, &model), KZ_OK);
	assert_string_equal(text, "JPKIAPICCTOKEN2");
	static const uint8_t gr[] = {0x00, 0xC0, 0x00, 0x00, 0x10};
	assert_int_equal(s->cmd_len[3], 5);
	assert_memory_equal(s->cmd[3], gr, 5);
	assert_int_equal(s->card.apdu_count, 5);
	free(s);

	/* a card that always has more: stopped after 8 GET RESPONSEs */
	static const uint8_t more1[] = {0x61, 0x01};
	static const uint8_t byte_more1[] = {0x20, 0x61, 0x01};
	s = script_selected(false);
	script_add(s, more1, 2);
	for (int i = 0; i < 12; i++)
		script_add(s, byte_more1, sizeof byte_more1);
	assert_int_equal(jpki_read_token_info(&s->card, text, &model), KZ_E_PROTOCOL);
	assert_int_equal(s->card.apdu_count, 2 + 1 + 8);
	free(s);

	/* 61xx offering more than Le allows */
	static const uint8_t more_ff[] = {0x61, 0xFF};
	s = script_selected(false);
	script_add(s, more_ff, 2);
	assert_int_equal(jpki_read_token_info(&s->card, text, &model), KZ_E_PROTOCOL);
	assert_int_equal(s->card.apdu_count, 3);
	free(s);
}

/* 6Cxx: READ BINARY once more with the right Le; VERIFY never. */
static void test_hostile_wrong_le(void **state)
{
	(void)state;
	char text[JPKI_TOKEN_INFO_LEN + 1];
	jpki_model model;
	static const uint8_t wrong_le[] = {0x6C, 0x0F};
	static const uint8_t info[] = {'J', 'P', 'K', 'I', 'A', 'P', 'I',  'O', 'S',
	                               'T', 'O', 'K', 'E', 'N', ' ', 0x90, 0x00};
	script *s = script_selected(false);
	script_add(s, wrong_le, 2);
	script_add(s, info, sizeof info);
	assert_int_equal(jpki_read_token_info(&s->card, text, &model), KZ_OK);
	assert_int_equal(model, JPKI_MODEL_IPHONE);
	static const uint8_t again[] = {0x00, 0xB0, 0x00, 0x00, 0x0F};
	assert_memory_equal(s->cmd[3], again, 5);
	free(s);

	/* a 6Cxx that asks for more than the first Le */
	static const uint8_t wrong_le_big[] = {0x6C, 0x40};
	s = script_selected(false);
	script_add(s, wrong_le_big, 2);
	assert_int_equal(jpki_read_token_info(&s->card, text, &model), KZ_E_PROTOCOL);
	assert_int_equal(s->card.apdu_count, 3);
	free(s);

	/* VERIFY answered 6Cxx: not sent again */
	s = script_selected(false);
	script_add(s, wrong_le, 2);
	script_add(s, sw_ok, 2);
	int tries = -2;
	assert_int_equal(jpki_verify(&s->card, JPKI_KEY_AUTH, (const uint8_t *)"1234", 4, &tries),
	                 KZ_E_PROTOCOL);
	assert_int_equal(s->card.apdu_count, 3);
	assert_false(s->card.verified[JPKI_KEY_AUTH]);
	/* the VERIFY went out with its PIN, nothing else */
	assert_int_equal(s->cmd_len[2], 9);
	free(s);
}

static void test_hostile_verify(void **state)
{
	(void)state;
	static const uint8_t data_ok[] = {0x01, 0x90, 0x00};
	static const uint8_t blocked[] = {0x69, 0x83};
	static const uint8_t wrong_len[] = {0x67, 0x00};
	static const uint8_t tries1[] = {0x63, 0xC1};
	const struct {
		const uint8_t *resp;
		size_t len;
		kz_err err;
		int tries;
	} cases[] = {
	    {data_ok, 3, KZ_E_PROTOCOL, -1},     {blocked, 2, KZ_E_PIN_LOCKED, 0},
	    {wrong_len, 2, KZ_E_PIN_LENGTH, -1}, {tries1, 2, KZ_E_PIN_INCORRECT, 1},
	    {sw_ok, 1, KZ_E_PROTOCOL, -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		script *s = script_selected(false);
		script_add(s, cases[i].resp, cases[i].len);
		int tries = -2;
		assert_int_equal(
		    jpki_verify(&s->card, JPKI_KEY_AUTH, (const uint8_t *)"1234", 4, &tries),
		    cases[i].err);
		assert_int_equal(tries, cases[i].tries);
		assert_false(s->card.verified[JPKI_KEY_AUTH]);
		free(s);
	}
	/* the tries query: 9000 means verified, count unknown */
	script *s = script_selected(false);
	script_add(s, sw_ok, 2);
	int tries = -2;
	assert_int_equal(jpki_pin_tries(&s->card, JPKI_KEY_AUTH, &tries), KZ_OK);
	assert_int_equal(tries, -1);
	static const uint8_t query[] = {0x00, 0x20, 0x00, 0x80};
	assert_int_equal(s->cmd_len[2], 4);
	assert_memory_equal(s->cmd[2], query, 4);
	free(s);
}

static void test_hostile_sign(void **state)
{
	(void)state;
	static uint8_t r255[257], r256[258], r257[259];
	memset(r255, 0x11, sizeof r255);
	r255[255] = 0x90;
	r255[256] = 0x00;
	memset(r256, 0x22, sizeof r256);
	r256[256] = 0x90;
	r256[257] = 0x00;
	memset(r257, 0x33, sizeof r257);
	r257[257] = 0x90;
	r257[258] = 0x00;
	const struct {
		const uint8_t *resp;
		size_t len;
		kz_err err;
	} cases[] = {
	    {r255, sizeof r255, KZ_E_PROTOCOL},
	    /* longer than any short answer: the reader refuses it */
	    {r257, sizeof r257, KZ_E_COMM},
	    {sw_ok, 2, KZ_E_PROTOCOL},
	    {r256, sizeof r256, KZ_OK},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		script *s = script_selected(false);
		script_add(s, cases[i].resp, cases[i].len);
		uint8_t sig[JPKI_SIGNATURE_LEN];
		size_t sig_len = 9;
		assert_int_equal(jpki_sign(&s->card, JPKI_KEY_AUTH, digest_info, sizeof digest_info,
		                           sig, &sig_len),
		                 cases[i].err);
		assert_int_equal(sig_len, cases[i].err == KZ_OK ? 256 : 0);
		/* 80 2A 00 80 33 <51 bytes> 00 */
		assert_int_equal(s->cmd_len[2], 5 + sizeof digest_info + 1);
		assert_int_equal(s->cmd[2][0], 0x80);
		assert_int_equal(s->cmd[2][1], 0x2A);
		assert_int_equal(s->cmd[2][4], sizeof digest_info);
		assert_int_equal(s->cmd[2][5 + sizeof digest_info], 0x00);
		free(s);
	}
}

/* The exact bytes of the SELECTs. */
static void test_select_bytes(void **state)
{
	(void)state;
	script *s = script_selected(false);
	script_add(s, sw_ok, 2);
	int tries;
	assert_int_equal(jpki_pin_tries(&s->card, JPKI_KEY_SIGN, &tries), KZ_OK);
	assert_int_equal(tries, -1);
	static const uint8_t sel_ap[] = {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0,
	                                 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t sel_ef[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x1B};
	assert_int_equal(s->cmd_len[0], sizeof sel_ap);
	assert_memory_equal(s->cmd[0], sel_ap, sizeof sel_ap);
	assert_int_equal(s->cmd_len[1], sizeof sel_ef);
	assert_memory_equal(s->cmd[1], sel_ef, sizeof sel_ef);
	free(s);
}

/* Random answers to every operation: any error but never a crash, a leak
 * or a read out of bounds (valgrind watches). A fixed seed keeps it
 * reproducible. */
static uint32_t rng_state = 0x12345678u;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static uint8_t fuzz_buf[SCRIPT_MAX][300];

static void fuzz_fill(script *s)
{
	static const uint16_t sws[] = {0x9000, 0x6282, 0x6982, 0x6B00, 0x63C1,
	                               0x6100, 0x6C10, 0x6984, 0x6700, 0x9000};
	for (size_t i = 0; i < SCRIPT_MAX; i++) {
		size_t len = rng() % 262;
		if (rng() % 4 == 0)
			len = 2;
		for (size_t j = 0; j < len; j++)
			fuzz_buf[i][j] = (uint8_t)rng();
		if (len >= 2 && rng() % 2) {
			uint16_t sw = sws[rng() % (sizeof sws / sizeof sws[0])];
			fuzz_buf[i][len - 2] = (uint8_t)(sw >> 8);
			fuzz_buf[i][len - 1] = (uint8_t)sw;
		}
		if (len >= 4 && rng() % 3 == 0)
			memcpy(fuzz_buf[i], "\x30\x82\x03\x00", 4);
		script_add(s, fuzz_buf[i], len);
	}
}

static void test_hostile_random(void **state)
{
	(void)state;
	for (int round = 0; round < 3000; round++) {
		script *s = script_new(round % 2 == 0);
		fuzz_fill(s);
		char text[JPKI_TOKEN_INFO_LEN + 1];
		jpki_model model;
		uint8_t *der = NULL;
		size_t len;
		int tries;
		uint8_t sig[JPKI_SIGNATURE_LEN];
		size_t sig_len;
		switch (round % 5) {
		case 0:
			(void)jpki_read_token_info(&s->card, text, &model);
			break;
		case 1:
		case 2:
			if (jpki_read_certificate(&s->card, JPKI_EF_AUTH_CERT, &der, &len) ==
			    KZ_OK) {
				assert_true(len <= 8192);
				free(der);
			}
			break;
		case 3:
			(void)jpki_verify(&s->card, JPKI_KEY_SIGN, (const uint8_t *)"ABC123", 6,
			                  &tries);
			(void)jpki_pin_tries(&s->card, JPKI_KEY_AUTH, &tries);
			break;
		default:
			(void)jpki_sign(&s->card, JPKI_KEY_AUTH, digest_info, sizeof digest_info,
			                sig, &sig_len);
			break;
		}
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_info_personas),
	    cmocka_unit_test(test_token_info_cold),
	    cmocka_unit_test(test_model_names),
	    cmocka_unit_test(test_certs_short),
	    cmocka_unit_test(test_certs_extended),
	    cmocka_unit_test(test_extended_refused),
	    cmocka_unit_test(test_extended_link_short),
	    cmocka_unit_test(test_prefix_then_rest),
	    cmocka_unit_test(test_padded_ef),
	    cmocka_unit_test(test_no_reselect),
	    cmocka_unit_test(test_sign_cert_needs_password),
	    cmocka_unit_test(test_phone_auth_cert_needs_pin),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_verify_auth),
	    cmocka_unit_test(test_verify_sign),
	    cmocka_unit_test(test_blocked_from_start),
	    cmocka_unit_test(test_verify_args),
	    cmocka_unit_test(test_change_pin),
	    cmocka_unit_test(test_sign),
	    cmocka_unit_test(test_sign_lengths),
	    cmocka_unit_test(test_leave_at_every_apdu),
	    cmocka_unit_test(test_hostile_select),
	    cmocka_unit_test(test_hostile_overclaim),
	    cmocka_unit_test(test_hostile_token_info),
	    cmocka_unit_test(test_hostile_der_header),
	    cmocka_unit_test(test_hostile_cert_reads),
	    cmocka_unit_test(test_hostile_extended),
	    cmocka_unit_test(test_extended_link_failure),
	    cmocka_unit_test(test_hostile_get_response),
	    cmocka_unit_test(test_hostile_wrong_le),
	    cmocka_unit_test(test_hostile_verify),
	    cmocka_unit_test(test_hostile_sign),
	    cmocka_unit_test(test_select_bytes),
	    cmocka_unit_test(test_hostile_random),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
