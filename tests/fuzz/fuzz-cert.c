/* libFuzzer harness: certificates and token info as a phone serves them.
 *
 * The input is the content of an elementary file. It goes
 *  - whole to the certificate parser (jpki_cert_parse) and, when it parses,
 *    to the signature check under its key (jpki_cert_verify_raw), and to
 *    the identity prefix of the certificate cache (jpki_cert_identity_len);
 *  - through the JPKI layer as the EF of a card that serves it honestly
 *    (READ BINARY at any offset, 6282 at the end of the file, 6B00 past
 *    it): read as a certificate (short reads, one extended read, a prefix
 *    and the rest) and as token info.
 * So the DER header decides what is read, as on the air: claims past the
 * file, past the module's bound, lengths in every form.
 *
 * Checked besides the sanitizers: a certificate read whole is the file's
 * first bytes, no longer than the module's bound; token info is at most
 * 32 printable characters; nothing reads more than a bounded number of
 * commands. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/apdu.h"
#include "jpki/cert.h"
#include "jpki/jpki.h"
#include "util/log.h"

#define CERT_MAX  8192 /* jpki.c's bound on a certificate */
#define READS_MAX 80   /* jpki.c's bound on READ BINARYs, and some */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz-cert: %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A card with one file, served as ISO/IEC 7816-4 says. */
typedef struct ef_card {
	kz_transport t;
	const uint8_t *ef;
	size_t ef_len;
	bool extended; /* accepts extended READ BINARY */
	unsigned long sent;
} ef_card;

static size_t sw(uint8_t *resp, size_t n, uint16_t status)
{
	resp[n] = (uint8_t)(status >> 8);
	resp[n + 1] = (uint8_t)status;
	return n + 2;
}

static kz_err ef_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                          size_t *resp_len)
{
	ef_card *c = ctx;
	c->sent++;
	if (*resp_len < 2)
		return KZ_E_COMM;
	if (cmd_len < 4 || cmd[1] != 0xB0) {
		*resp_len = sw(resp, 0, KZ_SW_OK); /* SELECTs */
		return KZ_OK;
	}
	size_t offset = (size_t)(cmd[2] & 0x7F) << 8 | cmd[3];
	size_t le;
	if (cmd_len == 5) {
		le = cmd[4] != 0 ? cmd[4] : 256;
	} else if (cmd_len == 7 && cmd[4] == 0 && c->extended) {
		le = (size_t)cmd[5] << 8 | cmd[6];
		le = le != 0 ? le : 65536;
	} else {
		*resp_len = sw(resp, 0, KZ_SW_WRONG_LENGTH);
		return KZ_OK;
	}
	if (offset >= c->ef_len) {
		*resp_len = sw(resp, 0, KZ_SW_WRONG_OFFSET);
		return KZ_OK;
	}
	size_t n = c->ef_len - offset < le ? c->ef_len - offset : le;
	if (n > *resp_len - 2)
		n = *resp_len - 2; /* what one answer can carry */
	memcpy(resp, c->ef + offset, n);
	*resp_len = sw(resp, n, n < le ? KZ_SW_EOF_WARNING : KZ_SW_OK);
	return KZ_OK;
}

static void card_init(ef_card *c, jpki_card *card, const uint8_t *data, size_t size, bool extended)
{
	memset(c, 0, sizeof *c);
	c->t.transmit = ef_transmit;
	c->t.ctx = c;
	c->t.name = "fuzz";
	c->t.extended_ok = extended;
	c->t.max_cmd = extended ? KZ_APDU_EXT_CMD_MAX : KZ_APDU_SHORT_CMD_MAX;
	c->t.max_resp = extended ? KZ_APDU_EXT_RESP_MAX : KZ_APDU_SHORT_RESP_MAX;
	c->ef = data;
	c->ef_len = size;
	c->extended = extended;
	jpki_card_init(card, &c->t);
}

/* A certificate read whole is the file's first der_len bytes. */
static void check_read(kz_err e, uint8_t *der, size_t der_len, const uint8_t *data, size_t size)
{
	if (e == KZ_OK) {
		CHECK(der != NULL && der_len > 0 && der_len <= CERT_MAX && der_len <= size);
		CHECK(memcmp(der, data, der_len) == 0);
	} else {
		CHECK(der == NULL && der_len == 0);
	}
	free(der);
}

static void read_as_certificate(const uint8_t *data, size_t size)
{
	for (int extended = 0; extended < 2; extended++) {
		ef_card c;
		jpki_card card;
		card_init(&c, &card, data, size, extended);
		uint8_t *der = NULL;
		size_t der_len = 0;
		kz_err e = jpki_read_certificate(&card, JPKI_EF_AUTH_CA, &der, &der_len);
		check_read(e, der, der_len, data, size);
		CHECK(c.sent <= READS_MAX);
	}

	/* As the certificate cache reads it: a prefix, then the rest. */
	ef_card c;
	jpki_card card;
	card_init(&c, &card, data, size, false);
	size_t id = jpki_cert_identity_len(data, size);
	size_t n = id > 0 && id <= 256 ? id : 1 + size % 256;
	uint8_t prefix[256];
	size_t got = 0;
	if (jpki_read_cert_prefix(&card, JPKI_EF_AUTH_CERT, n, prefix, &got) == KZ_OK) {
		CHECK(got > 0 && got <= n && got <= size);
		CHECK(memcmp(prefix, data, got) == 0);
		uint8_t *der = NULL;
		size_t der_len = 0;
		kz_err e = jpki_read_certificate_rest(&card, JPKI_EF_AUTH_CERT, prefix, got, &der,
		                                      &der_len);
		check_read(e, der, der_len, data, size);
	}
	CHECK(c.sent <= READS_MAX);
}

static void read_as_token_info(const uint8_t *data, size_t size)
{
	ef_card c;
	jpki_card card;
	card_init(&c, &card, data, size, false);
	char text[JPKI_TOKEN_INFO_LEN + 1];
	jpki_model model;
	if (jpki_read_token_info(&card, text, &model) == KZ_OK) {
		size_t len = strnlen(text, sizeof text);
		CHECK(len <= JPKI_TOKEN_INFO_LEN);
		for (size_t i = 0; i < len; i++)
			CHECK(text[i] >= 0x20 && text[i] <= 0x7E);
		CHECK(model >= JPKI_MODEL_UNKNOWN && model <= JPKI_MODEL_IPHONE);
	}
}

static const uint8_t digest_info[51] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                        0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

static void parse(const uint8_t *data, size_t size)
{
	size_t id = jpki_cert_identity_len(data, size);
	CHECK(id <= size);

	jpki_cert cert;
	if (jpki_cert_parse(data, size, &cert) != KZ_OK)
		return;
	CHECK(cert.der.len == size && memcmp(cert.der.data, data, size) == 0);
	CHECK(cert.modulus.len > 0 && cert.exponent.len > 0 && cert.spki.len > 0);
	CHECK(cert.key_bits > 0);
	CHECK(strlen(cert.not_before) == 8 && strlen(cert.not_after) == 8);
	/* Any signature of the modulus' length, from the input's own bytes:
	 * it must not verify (the input holds no private key), and checking
	 * it must not crash whatever the key looks like. */
	size_t sig_len = cert.modulus.len;
	uint8_t *sig = calloc(1, sig_len + 1);
	if (sig != NULL) {
		memcpy(sig, data, sig_len < size ? sig_len : size);
		(void)jpki_cert_verify_raw(&cert, digest_info, sizeof digest_info, sig, sig_len);
		CHECK(jpki_cert_verify_raw(&cert, digest_info, sizeof digest_info, sig,
		                           sig_len + 1) != KZ_OK);
		free(sig);
	}
	jpki_cert_clear(&cert);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	kz_log_configure(KZ_LOG_DEBUG, "/dev/null", true);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse(data, size);
	read_as_certificate(data, size);
	read_as_token_info(data, size);
	return 0;
}
