/* libFuzzer harness: command APDUs and the parsing of their answers.
 *
 * Input: a selector byte (low nibble: the command or JPKI operation; bits
 * 4-5: the link's limits), then the phone's answers as a stream.h stream.
 * The same bytes also go, whole, through the pure functions: splitting an
 * answer, status words to errors, and encoding a command from its fields.
 *
 * Besides the sanitizers, the harness checks what the JPKI layer promises
 * (jpki.h): an answer handed up never holds more than was asked for nor
 * lies outside the buffer, one command costs at most one resend (6Cxx) and
 * eight GET RESPONSEs, and a signature is handed up only whole. Any breach
 * aborts, which libFuzzer reports as a crash. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/apdu.h"
#include "jpki/jpki.h"
#include "util/log.h"
#include "stream.h"

/* One command, one resend after 6Cxx, eight GET RESPONSEs. */
#define EXCHANGES_MAX 10

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz-apdu: %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

typedef struct fuzz_link {
	kz_transport t;
	stream s;
	unsigned long sent;
} fuzz_link;

static kz_err link_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                            size_t *resp_len)
{
	fuzz_link *l = ctx;
	(void)cmd, (void)cmd_len;
	l->sent++;
	return stream_answer(&l->s, resp, resp_len) ? KZ_OK : KZ_E_REMOVED;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	/* The APDU trace on, to /dev/null: its hex dump of hostile bytes is
	 * code the phone drives too. */
	kz_log_configure(KZ_LOG_DEBUG, "/dev/null", true);
	return 0;
}

/* The input as one answer. */
static void split(const uint8_t *data, size_t size)
{
	kz_rapdu r;
	if (kz_apdu_split(data, size, &r) != KZ_OK) {
		CHECK(size < 2);
		return;
	}
	CHECK(r.data == data && r.len == size - 2);
	CHECK(r.sw == (data[size - 2] << 8 | data[size - 1]));
	int tries = kz_sw_tries_left(r.sw);
	CHECK(tries >= -1 && tries <= 15);
	CHECK((kz_sw_to_err(r.sw) == KZ_OK) == (r.sw == KZ_SW_OK));
}

/* A command from the input's first bytes: CLA INS P1 P2, Lc (2 bytes, the
 * top bit asking for the extended form), Le (2 bytes + the low bit of the
 * next: up to 131071, more than any form allows), then the data. Checked
 * against ISO/IEC 7816-4's four cases, computed here independently. */
static void encode(const uint8_t *data, size_t size)
{
	if (size < 9)
		return;
	size_t lc = ((size_t)data[4] << 8 | data[5]) & 0x7FFF;
	size_t avail = size - 9;
	kz_apdu a = {
	    .cla = data[0],
	    .ins = data[1],
	    .p1 = data[2],
	    .p2 = data[3],
	    .extended = (data[4] & 0x80) != 0,
	    .lc = lc < avail ? lc : avail,
	    .le = (size_t)(data[8] & 1) << 16 | (size_t)data[6] << 8 | data[7],
	    .data = data + 9,
	};
	if (a.lc == 0)
		a.data = NULL;
	static uint8_t out[KZ_APDU_EXT_CMD_MAX];
	size_t n = 0;
	kz_err e = kz_apdu_encode(&a, out, sizeof out, &n);
	bool fits = a.extended ? a.lc <= 65535 && a.le <= 65536 : a.lc <= 255 && a.le <= 256;
	CHECK((e == KZ_OK) == fits);
	if (e != KZ_OK)
		return;
	size_t lc_field = a.lc == 0 ? 0 : a.extended ? 3 : 1;
	size_t le_field = a.le == 0 ? 0 : !a.extended ? 1 : a.lc > 0 ? 2 : 3;
	CHECK(n == 4 + lc_field + a.lc + le_field);
	CHECK(memcmp(out, data, 4) == 0);
	if (a.lc > 0)
		CHECK(memcmp(out + 4 + lc_field, a.data, a.lc) == 0);
}

static const uint8_t digest_info[51] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                        0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                        0x01, 0x05, 0x00, 0x04, 0x20, 0xAA, 0xBB};
static const uint8_t pin[] = {'1', '2', '3', '4'};

/* One raw command through jpki_transmit, into a heap buffer of exactly
 * cap bytes so that the address sanitizer sees any byte past it. */
static void transmit(fuzz_link *l, jpki_card *c, const kz_apdu *a, size_t cap)
{
	uint8_t *resp = malloc(cap);
	if (resp == NULL)
		return;
	kz_rapdu r;
	if (jpki_transmit(c, a, resp, cap, &r) == KZ_OK) {
		CHECK(r.data == resp);
		CHECK(r.len + 2 <= cap);
		CHECK(r.len <= a->le); /* nothing where nothing was asked for */
	}
	CHECK(l->sent <= EXCHANGES_MAX);
	free(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	split(data, size);
	encode(data, size);
	if (size < 1)
		return 0;

	fuzz_link l = {.t = {.transmit = link_transmit, .name = "fuzz"}};
	l.t.ctx = &l;
	stream_init(&l.s, data + 1, size - 1);
	/* The link: short only (libnfc), extended (PC/SC), or unbounded. */
	switch ((data[0] >> 4) & 3) {
	case 0:
		l.t.max_cmd = KZ_APDU_SHORT_CMD_MAX;
		l.t.max_resp = KZ_APDU_SHORT_RESP_MAX;
		break;
	case 1:
		l.t.max_cmd = KZ_APDU_EXT_CMD_MAX;
		l.t.max_resp = KZ_APDU_EXT_RESP_MAX;
		l.t.extended_ok = true;
		break;
	default:
		l.t.extended_ok = true;
		break;
	}
	jpki_card c;
	jpki_card_init(&c, &l.t);
	c.ap_selected = (data[0] & 0x40) != 0; /* skip the SELECT half the time */

	kz_apdu read = {.ins = 0xB0, .le = 256};
	kz_apdu read_ext = {.ins = 0xB0, .le = 65536, .extended = true};
	kz_apdu verify = {.ins = 0x20, .p2 = 0x80, .data = pin, .lc = sizeof pin};
	kz_apdu sign = {.cla = 0x80,
	                .ins = 0x2A,
	                .p2 = 0x80,
	                .data = digest_info,
	                .lc = sizeof digest_info,
	                .le = 256};
	uint8_t sig[JPKI_SIGNATURE_LEN];
	size_t sig_len = 0;
	int tries = 0;
	switch (data[0] & 0x0F) {
	case 0:
		transmit(&l, &c, &read, KZ_APDU_SHORT_RESP_MAX);
		break;
	case 1:
		read.le = 32;
		transmit(&l, &c, &read, KZ_APDU_SHORT_RESP_MAX);
		break;
	case 2:
		transmit(&l, &c, &read_ext, KZ_APDU_EXT_RESP_MAX);
		break;
	case 3:
		transmit(&l, &c, &verify, KZ_APDU_SHORT_RESP_MAX);
		break;
	case 4:
		transmit(&l, &c, &sign, KZ_APDU_SHORT_RESP_MAX);
		break;
	case 5:
		read.le = 100; /* a buffer of exactly what was asked for */
		transmit(&l, &c, &read, 102);
		break;
	case 6:
		(void)jpki_select_app(&c);
		break;
	case 7:
		if (jpki_pin_tries(&c, JPKI_KEY_AUTH, &tries) == KZ_OK)
			CHECK(tries >= -1 && tries <= 15);
		break;
	case 8:
		(void)jpki_verify(&c, JPKI_KEY_SIGN, pin, sizeof pin, &tries);
		CHECK(tries >= -1 && tries <= 15);
		break;
	case 9:
		c.verified[JPKI_KEY_AUTH] = true;
		(void)jpki_change_pin(&c, JPKI_KEY_AUTH, pin, sizeof pin);
		break;
	default:
		if (jpki_sign(&c, JPKI_KEY_AUTH, digest_info, sizeof digest_info, sig, &sig_len) ==
		    KZ_OK)
			CHECK(sig_len == JPKI_SIGNATURE_LEN);
		else
			CHECK(sig_len == 0);
		break;
	}
	/* The operations: a SELECT or two before the command, each bounded. */
	CHECK(l.sent <= 3 * EXCHANGES_MAX);
	return 0;
}
