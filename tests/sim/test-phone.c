/* Unit test of the simulated phone: the state machine the module is tested
 * against must itself be right. Drives sim_phone_transmit through whole
 * flows against a PKI made by make-pki.sh for this run. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "linkmodel.h"
#include "phone.h"

static char pki_dir[] = "/tmp/kazashi-sim-test-XXXXXX";

#define AID       "D392F000260100000001"
#define SELECT_AP "00A4040C0A" AID

/* --- helpers ------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex (spaces allowed) to bytes; fails the test on a typo. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*s != '\0') {
		if (*s == ' ') {
			s++;
			continue;
		}
		assert_true(hexval(s[0]) >= 0 && hexval(s[1]) >= 0);
		assert_true(n < cap);
		out[n++] = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
		s += 2;
	}
	return n;
}

static uint8_t resp[SIM_RESP_MAX];
static size_t resp_len;

static uint16_t send_raw(sim_phone *p, const uint8_t *cmd, size_t len)
{
	assert_true(sim_phone_transmit(p, cmd, len, resp, &resp_len));
	assert_true(resp_len >= 2 && resp_len <= SIM_RESP_MAX);
	return (uint16_t)(resp[resp_len - 2] << 8 | resp[resp_len - 1]);
}

static uint16_t send_hex(sim_phone *p, const char *hex)
{
	uint8_t cmd[600];

	return send_raw(p, cmd, unhex(hex, cmd, sizeof(cmd)));
}

/* VERIFY or CHANGE REFERENCE DATA with an ASCII value. */
static uint16_t send_pin(sim_phone *p, uint8_t ins, uint8_t p1, const char *pin)
{
	uint8_t cmd[5 + 255];
	size_t len = strlen(pin);

	cmd[0] = 0x00;
	cmd[1] = ins;
	cmd[2] = p1;
	cmd[3] = 0x80;
	cmd[4] = (uint8_t)len;
	memcpy(cmd + 5, pin, len);
	return send_raw(p, cmd, 5 + len);
}

static uint16_t verify(sim_phone *p, const char *pin)
{
	return send_pin(p, 0x20, 0x00, pin);
}

static uint16_t select_ef(sim_phone *p, uint16_t fid)
{
	uint8_t cmd[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, (uint8_t)(fid >> 8), (uint8_t)fid};

	return send_raw(p, cmd, sizeof(cmd));
}

static sim_phone *new_phone_cfg(sim_config *cfg)
{
	sim_phone *p;

	cfg->pki_dir = pki_dir;
	p = sim_phone_new(cfg);
	assert_non_null(p);
	return p;
}

static sim_phone *new_phone(sim_persona persona)
{
	sim_config cfg = {.persona = persona};

	return new_phone_cfg(&cfg);
}

static uint8_t *load(const char *name, size_t *len)
{
	char path[PATH_MAX];
	uint8_t *buf = malloc(65536);
	FILE *f;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/%s", pki_dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	assert_true(*len > 0);
	return buf;
}

/* Reads the selected EF by chunks of le (0 = 256) the way a careful host
 * does: until 6282 or 6B00. Returns the bytes, *len their number. */
static uint8_t *read_ef(sim_phone *p, unsigned le, size_t *len)
{
	uint8_t *buf = malloc(65536);
	size_t off = 0;
	uint16_t sw;

	assert_non_null(buf);
	for (;;) {
		uint8_t cmd[] = {0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off, (uint8_t)le};

		assert_true(off < 32768);
		sw = send_raw(p, cmd, sizeof(cmd));
		if (sw == 0x6B00)
			break;
		assert_true(sw == 0x9000 || sw == 0x6282);
		memcpy(buf + off, resp, resp_len - 2);
		off += resp_len - 2;
		if (sw == 0x6282)
			break;
		assert_int_equal(resp_len - 2, le ? le : 256);
	}
	*len = off;
	return buf;
}

static void assert_ef_is_file(sim_phone *p, uint16_t fid, const char *file, unsigned le)
{
	size_t want_len, got_len;
	uint8_t *want = load(file, &want_len);
	uint8_t *got;

	assert_int_equal(select_ef(p, fid), 0x9000);
	got = read_ef(p, le, &got_len);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free(want);
	free(got);
}

/* --- PKI fixture ----------------------------------------------------------- */

static int run_make_pki(void)
{
	const char *srcdir = getenv("srcdir");
	char script[PATH_MAX];
	int status;
	pid_t pid;

	snprintf(script, sizeof(script), "%s/tests/sim/make-pki.sh", srcdir ? srcdir : ".");
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execlp("sh", "sh", script, pki_dir, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "test-phone: %s %s failed\n", script, pki_dir);
		return -1;
	}
	return 0;
}

static int remove_pki(void **state)
{
	DIR *d = opendir(pki_dir);
	struct dirent *e;
	char path[PATH_MAX];

	(void)state;
	if (d == NULL)
		return 0;
	/* make-pki.sh writes plain files only */
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pki_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(pki_dir);
}

static int make_pki(void **state)
{
	(void)state;
	if (mkdtemp(pki_dir) == NULL) {
		perror("test-phone: mkdtemp");
		return -1;
	}
	if (run_make_pki() != 0) {
		remove_pki(NULL);
		return -1;
	}
	return 0;
}

/* --- tests --------------------------------------------------------------- */

static void test_link_model(void **state)
{
	(void)state;
	/* 5 bytes, one frame: (5 + 3) * 10 + 35 = 115 etu */
	assert_float_equal(link_direction_ms(5, 106), 115 * 9.44 / 1000 + 0.3, 1e-9);
	assert_float_equal(link_direction_ms(5, 424), 115 * 2.36 / 1000 + 0.3, 1e-9);
	/* 300 bytes, two frames and one R(ACK): 3060 + 70 + 65 etu */
	assert_float_equal(link_direction_ms(300, 212), 3195 * 4.72 / 1000 + 0.6, 1e-9);
	assert_float_equal(link_direction_ms(253, 848), 2595 * 1.18 / 1000 + 0.3, 1e-9);
	assert_float_equal(link_direction_ms(5, 0), link_direction_ms(5, 106), 1e-12);
	assert_float_equal(link_card_ms(0xA4), 2, 0);
	assert_float_equal(link_card_ms(0xB0), 3, 0);
	assert_float_equal(link_card_ms(0x20), 15, 0);
	assert_float_equal(link_card_ms(0x24), 30, 0);
	assert_float_equal(link_card_ms(0x2A), 250, 0);
	assert_float_equal(link_card_ms(0xCA), 1, 0);
}

static void test_select(void **state)
{
	sim_phone *p = new_phone(SIM_PERSONA_CARD);

	(void)state;
	assert_int_equal(select_ef(p, 0x0006), 0x6986); /* no AP yet */
	assert_int_equal(send_hex(p, "00A4040C07A0000000030000"), 0x6A82);
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(send_hex(p, "00A40400 0A" AID), 0x9000);
	assert_int_equal(send_hex(p, "00A40402 0A" AID), 0x6A86);
	assert_int_equal(select_ef(p, 0x1234), 0x6A82);
	assert_int_equal(select_ef(p, 0x0006), 0x9000);
	assert_int_equal(send_hex(p, "00A4020003 000600"), 0x6A86);
	assert_int_equal(send_hex(p, "00A4020C03 000600"), 0x6700);
	assert_int_equal(send_hex(p, "00A4080C02 0006"), 0x6A86);
	/* malformed: Lc disagrees, too short, nothing at all */
	assert_int_equal(send_hex(p, "00A4020C05 0006"), 0x6700);
	assert_int_equal(send_hex(p, "00A402"), 0x6700);
	assert_int_equal(send_raw(p, NULL, 0), 0x6700);
	assert_int_equal(resp_len, 2);
	/* wrong class, unknown instruction */
	assert_int_equal(send_hex(p, "80A4020C020006"), 0x6E00);
	assert_int_equal(send_hex(p, "002A0080020102"), 0x6E00);
	assert_int_equal(send_hex(p, "00CA010000"), 0x6D00);
	/* the failed selects kept EF 0006 */
	assert_int_equal(send_hex(p, "00B0000004"), 0x9000);
	sim_phone_free(p);
}

static void check_token_info(sim_persona persona, const char *label)
{
	sim_phone *p = new_phone(persona);
	char want[32];

	memset(want, ' ', sizeof(want));
	memcpy(want, label, strlen(label));
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x0006), 0x9000);
	assert_int_equal(send_hex(p, "00B0000000"), 0x6282);
	assert_int_equal(resp_len - 2, 160);
	assert_memory_equal(resp, want, 32);
	assert_int_equal(send_hex(p, "00B000A000"), 0x6B00);
	sim_phone_free(p);
}

static void test_token_info(void **state)
{
	(void)state;
	check_token_info(SIM_PERSONA_CARD, "JPKIAPICCTOKEN2");
	check_token_info(SIM_PERSONA_ANDROID, "JPKIAPGPSETOKEN");
	check_token_info(SIM_PERSONA_IPHONE, "JPKIAPIOSTOKEN");
}

static void test_read_card(void **state)
{
	sim_phone *p = new_phone(SIM_PERSONA_CARD);
	size_t der_len;
	uint8_t *der = load("auth.der", &der_len);

	(void)state;
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	/* free files, in chunks of 256, 255 and an odd 100 */
	assert_ef_is_file(p, 0x000A, "auth.der", 0);
	assert_ef_is_file(p, 0x000A, "auth.der", 255);
	assert_ef_is_file(p, 0x000B, "authca.der", 100);
	assert_ef_is_file(p, 0x0002, "signca.der", 0);
	/* the first 4 bytes give the DER length */
	assert_int_equal(select_ef(p, 0x000A), 0x9000);
	assert_int_equal(send_hex(p, "00B0000004"), 0x9000);
	assert_int_equal(resp[0], 0x30);
	assert_int_equal(resp[1], 0x82);
	assert_int_equal((size_t)(resp[2] << 8 | resp[3]) + 4, der_len);
	/* exactly at the end, past it, a 15-bit offset, SFI addressing */
	{
		uint8_t cmd[] = {0x00, 0xB0, (uint8_t)(der_len >> 8), (uint8_t)der_len, 0x01};

		assert_int_equal(send_raw(p, cmd, sizeof(cmd)), 0x6B00);
		cmd[2] = (uint8_t)((der_len - 1) >> 8);
		cmd[3] = (uint8_t)(der_len - 1);
		assert_int_equal(send_raw(p, cmd, sizeof(cmd)), 0x9000);
		assert_int_equal(resp[0], der[der_len - 1]);
		cmd[4] = 2;
		assert_int_equal(send_raw(p, cmd, sizeof(cmd)), 0x6282);
		assert_int_equal(resp_len, 3);
	}
	assert_int_equal(send_hex(p, "00B07FFF01"), 0x6B00);
	assert_int_equal(send_hex(p, "00B0800001"), 0x6A86);
	/* READ BINARY without Le, or with data */
	assert_int_equal(send_hex(p, "00B00000"), 0x6700);
	assert_int_equal(send_hex(p, "00B000000100"), 0x6700);
	/* extended Le refused by default */
	assert_int_equal(send_hex(p, "00B00000000000"), 0x6700);
	/* protected, key and PIN EFs */
	assert_int_equal(select_ef(p, 0x0001), 0x9000);
	assert_int_equal(send_hex(p, "00B0000004"), 0x6982);
	assert_int_equal(select_ef(p, 0x0017), 0x9000);
	assert_int_equal(send_hex(p, "00B0000004"), 0x6986);
	assert_int_equal(select_ef(p, 0x0018), 0x9000);
	assert_int_equal(send_hex(p, "00B0000004"), 0x6986);
	free(der);
	sim_phone_free(p);
}

static void test_read_extended(void **state)
{
	sim_config cfg = {.persona = SIM_PERSONA_CARD, .accept_extended = true};
	sim_phone *p = new_phone_cfg(&cfg);
	size_t der_len;
	uint8_t *der = load("sign.der", &der_len);

	(void)state;
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x001B), 0x9000);
	assert_int_equal(verify(p, "ABC123"), 0x9000);
	assert_int_equal(select_ef(p, 0x0001), 0x9000);
	/* Le 0000 = 65536: the whole file at once, short of Le */
	assert_int_equal(send_hex(p, "00B00000000000"), 0x6282);
	assert_int_equal(resp_len - 2, der_len);
	assert_memory_equal(resp, der, der_len);
	assert_int_equal(send_hex(p, "00B00000000010"), 0x9000);
	assert_int_equal(resp_len - 2, 16);
	/* extended Lc/Le that disagree with the length */
	assert_int_equal(send_hex(p, "00B000000000"), 0x6700);
	assert_int_equal(send_hex(p, "00B00000000005AA"), 0x6700);
	free(der);
	sim_phone_free(p);
}

static void test_cert_ef_padding(void **state)
{
	sim_config cfg = {.persona = SIM_PERSONA_CARD, .cert_ef_size = 2048};
	sim_phone *p = new_phone_cfg(&cfg);
	size_t der_len, got_len;
	uint8_t *der = load("authca.der", &der_len);
	uint8_t *got;

	(void)state;
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x000B), 0x9000);
	got = read_ef(p, 0, &got_len);
	assert_int_equal(got_len, 2048);
	assert_memory_equal(got, der, der_len);
	for (size_t i = der_len; i < got_len; i++)
		assert_int_equal(got[i], 0);
	free(got);
	free(der);
	sim_phone_free(p);
}

static void test_verify(void **state)
{
	sim_phone *p = new_phone(SIM_PERSONA_CARD);

	(void)state;
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x000A), 0x9000);
	assert_int_equal(verify(p, "1234"), 0x6986); /* not a PIN EF */
	assert_int_equal(select_ef(p, 0x0018), 0x9000);
	assert_int_equal(send_hex(p, "00200080"), 0x63C3);
	assert_int_equal(send_hex(p, "00200081 0431323334"), 0x6A86);
	assert_int_equal(send_hex(p, "0020008000"), 0x6700);
	assert_int_equal(verify(p, "0000"), 0x63C2);
	assert_int_equal(verify(p, "12345"), 0x63C1);
	assert_int_equal(sim_phone_tries_left(p, false), 1);
	assert_int_equal(verify(p, "1234"), 0x9000);
	assert_int_equal(sim_phone_tries_left(p, false), 3);
	/* asks for tries even when verified: cannot tell it is */
	assert_int_equal(send_hex(p, "00200080"), 0x63C3);
	/* the sign PIN is counted apart */
	assert_int_equal(select_ef(p, 0x001B), 0x9000);
	assert_int_equal(send_hex(p, "00200080"), 0x63C5);
	assert_int_equal(verify(p, "abc123"), 0x63C4); /* no upper-casing */
	assert_int_equal(sim_phone_tries_left(p, true), 4);
	/* block the auth PIN */
	assert_int_equal(select_ef(p, 0x0018), 0x9000);
	assert_int_equal(verify(p, "9999"), 0x63C2);
	assert_int_equal(verify(p, "9999"), 0x63C1);
	assert_int_equal(verify(p, "9999"), 0x63C0);
	assert_int_equal(verify(p, "1234"), 0x6984);
	assert_int_equal(send_hex(p, "00200080"), 0x6984);
	/* tries survive a new tap */
	sim_phone_reset(p);
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x0018), 0x9000);
	assert_int_equal(send_hex(p, "00200080"), 0x6984);
	assert_int_equal(select_ef(p, 0x001B), 0x9000);
	assert_int_equal(send_hex(p, "00200080"), 0x63C4);
	sim_phone_free(p);
}

static void test_tries_config(void **state)
{
	sim_config cfg = {.auth_tries = -1, .sign_tries = 1, .sign_pin = "PASS1234"};
	sim_phone *p = new_phone_cfg(&cfg);

	(void)state;
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x0018), 0x9000);
	assert_int_equal(send_hex(p, "00200080"), 0x6984);
	assert_int_equal(select_ef(p, 0x001B), 0x9000);
	assert_int_equal(send_hex(p, "00200080"), 0x63C1);
	assert_int_equal(verify(p, "PASS1234"), 0x9000);
	assert_int_equal(send_hex(p, "00200080"), 0x63C5);
	sim_phone_free(p);
}

static void test_change_pin(void **state)
{
	sim_phone *p = new_phone(SIM_PERSONA_CARD);

	(void)state;
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x0018), 0x9000);
	assert_int_equal(send_pin(p, 0x24, 0x01, "5678"), 0x6982);
	assert_int_equal(verify(p, "1234"), 0x9000);
	assert_int_equal(send_pin(p, 0x24, 0x00, "5678"), 0x6A86);
	assert_int_equal(send_pin(p, 0x24, 0x01, "56a8"), 0x6A80);
	assert_int_equal(send_pin(p, 0x24, 0x01, "567"), 0x6A80);
	assert_int_equal(send_pin(p, 0x24, 0x01, "5678"), 0x9000);
	assert_int_equal(verify(p, "1234"), 0x63C2);
	assert_int_equal(verify(p, "5678"), 0x9000);
	/* the signature password's form */
	assert_int_equal(select_ef(p, 0x001B), 0x9000);
	assert_int_equal(send_pin(p, 0x24, 0x01, "NEWPASS9"), 0x6982);
	assert_int_equal(verify(p, "ABC123"), 0x9000);
	assert_int_equal(send_pin(p, 0x24, 0x01, "short"), 0x6A80);
	assert_int_equal(send_pin(p, 0x24, 0x01, "NEWPASS9"), 0x9000);
	/* a new tap needs the new values */
	sim_phone_reset(p);
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x001B), 0x9000);
	assert_int_equal(verify(p, "NEWPASS9"), 0x9000);
	sim_phone_free(p);
}

/* 80 2A 00 80 Lc DigestInfo(SHA-256(msg)) 00 */
static size_t sign_apdu(const char *msg, uint8_t *cmd)
{
	static const uint8_t prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	                                 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
	unsigned int md_len = 0;

	cmd[0] = 0x80;
	cmd[1] = 0x2A;
	cmd[2] = 0x00;
	cmd[3] = 0x80;
	cmd[4] = sizeof(prefix) + 32;
	memcpy(cmd + 5, prefix, sizeof(prefix));
	assert_int_equal(
	    EVP_Digest(msg, strlen(msg), cmd + 5 + sizeof(prefix), &md_len, EVP_sha256(), NULL), 1);
	assert_int_equal(md_len, 32);
	cmd[5 + 51] = 0x00;
	return 5 + 51 + 1;
}

static void assert_signature(const char *cert_file, const char *msg, const uint8_t *sig,
                             size_t sig_len)
{
	size_t der_len;
	uint8_t *der = load(cert_file, &der_len);
	const uint8_t *q = der;
	X509 *x = d2i_X509(NULL, &q, (long)der_len);
	EVP_PKEY *pub;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_non_null(x);
	pub = X509_get0_pubkey(x);
	assert_non_null(pub);
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_equal(EVP_DigestVerify(ctx, sig, sig_len, (const uint8_t *)msg, strlen(msg)), 1);
	EVP_MD_CTX_free(ctx);
	X509_free(x);
	free(der);
}

static void test_sign(void **state)
{
	sim_phone *p = new_phone(SIM_PERSONA_CARD);
	uint8_t cmd[300];
	size_t len = sign_apdu("challenge", cmd);

	(void)state;
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x0017), 0x9000);
	assert_int_equal(send_raw(p, cmd, len), 0x6982);
	assert_int_equal(select_ef(p, 0x0018), 0x9000);
	assert_int_equal(send_raw(p, cmd, len), 0x6986); /* not a key EF */
	assert_int_equal(verify(p, "1234"), 0x9000);
	assert_int_equal(select_ef(p, 0x0017), 0x9000);
	assert_int_equal(send_raw(p, cmd, len), 0x9000);
	assert_int_equal(resp_len, 258);
	assert_signature("auth.der", "challenge", resp, 256);
	/* stays verified for the key: a second signature, another message */
	len = sign_apdu("second", cmd);
	assert_int_equal(send_raw(p, cmd, len), 0x9000);
	assert_signature("auth.der", "second", resp, 256);
	/* the auth PIN does not open the signature key or certificate */
	assert_int_equal(select_ef(p, 0x001A), 0x9000);
	assert_int_equal(send_raw(p, cmd, len), 0x6982);
	assert_int_equal(select_ef(p, 0x0001), 0x9000);
	assert_int_equal(send_hex(p, "00B0000004"), 0x6982);
	/* the signature password opens both */
	assert_int_equal(select_ef(p, 0x001B), 0x9000);
	assert_int_equal(verify(p, "ABC123"), 0x9000);
	assert_int_equal(select_ef(p, 0x001A), 0x9000);
	assert_int_equal(send_raw(p, cmd, len), 0x9000);
	assert_signature("sign.der", "second", resp, 256);
	assert_ef_is_file(p, 0x0001, "sign.der", 0);
	/* lengths: no data, 245 bytes fine, 246 too long, Le too short */
	assert_int_equal(select_ef(p, 0x001A), 0x9000);
	assert_int_equal(send_hex(p, "802A008000"), 0x6700);
	{
		uint8_t big[5 + 246 + 1] = {0x80, 0x2A, 0x00, 0x80, 245};

		assert_int_equal(send_raw(p, big, 5 + 245 + 1), 0x9000);
		big[4] = 246;
		assert_int_equal(send_raw(p, big, 5 + 246 + 1), 0x6700);
	}
	cmd[len - 1] = 0x80;
	assert_int_equal(send_raw(p, cmd, len), 0x6700);
	cmd[len - 1] = 0x00;
	assert_int_equal(send_hex(p, "802A009A0101"), 0x6A86);
	/* case 3 (no Le) is accepted too */
	assert_int_equal(send_raw(p, cmd, len - 1), 0x9000);
	/* re-selecting the AP is a logout */
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x001A), 0x9000);
	assert_int_equal(send_raw(p, cmd, len), 0x6982);
	/* and so is a new tap */
	assert_int_equal(select_ef(p, 0x0018), 0x9000);
	assert_int_equal(verify(p, "1234"), 0x9000);
	sim_phone_reset(p);
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x0017), 0x9000);
	assert_int_equal(send_raw(p, cmd, len), 0x6982);
	sim_phone_free(p);
}

static void check_phone_persona(sim_persona persona)
{
	sim_phone *p = new_phone(persona);

	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x000A), 0x9000);
	assert_int_equal(send_hex(p, "00B0000004"), 0x6982);
	assert_ef_is_file(p, 0x000B, "authca.der", 0);
	/* the signature password is not the auth PIN */
	assert_int_equal(select_ef(p, 0x001B), 0x9000);
	assert_int_equal(verify(p, "ABC123"), 0x9000);
	assert_int_equal(select_ef(p, 0x000A), 0x9000);
	assert_int_equal(send_hex(p, "00B0000004"), 0x6982);
	assert_int_equal(select_ef(p, 0x0018), 0x9000);
	assert_int_equal(verify(p, "1234"), 0x9000);
	assert_ef_is_file(p, 0x000A, "auth.der", 0);
	sim_phone_reset(p);
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x000A), 0x9000);
	assert_int_equal(send_hex(p, "00B0000004"), 0x6982);
	sim_phone_free(p);
}

static void test_phone_personas(void **state)
{
	(void)state;
	check_phone_persona(SIM_PERSONA_ANDROID);
	check_phone_persona(SIM_PERSONA_IPHONE);
}

static void test_leave_and_log(void **state)
{
	char *log_buf = NULL;
	size_t log_size = 0;
	FILE *log = open_memstream(&log_buf, &log_size);
	sim_config cfg = {.persona = SIM_PERSONA_CARD, .leave_at_apdu = 4, .log = log, .kbps = 424};
	sim_phone *p;
	sim_totals t;
	uint8_t cmd[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x06};

	(void)state;
	assert_non_null(log);
	p = new_phone_cfg(&cfg);
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x0018), 0x9000);
	assert_int_equal(verify(p, "1234"), 0x9000);
	assert_false(sim_phone_transmit(p, cmd, sizeof(cmd), resp, &resp_len));
	assert_false(sim_phone_present(p));
	assert_false(sim_phone_transmit(p, cmd, sizeof(cmd), resp, &resp_len));
	assert_int_equal(sim_phone_apdu_count(p), 4);
	sim_phone_totals(p, &t);
	assert_int_equal(t.apdus, 3);
	assert_int_equal(t.bytes_to_card, 15 + 7 + 9);
	assert_int_equal(t.bytes_from_card, 6);
	assert_float_equal(t.card_ms, 2 + 2 + 15, 1e-9);
	assert_float_equal(t.air_ms,
	                   link_direction_ms(15, 424) + link_direction_ms(7, 424) +
	                       link_direction_ms(9, 424) + 3 * link_direction_ms(2, 424),
	                   1e-9);
	/* a new tap: back, not logged in, and the counter does not fire again */
	sim_phone_reset(p);
	assert_true(sim_phone_present(p));
	assert_int_equal(send_hex(p, SELECT_AP), 0x9000);
	assert_int_equal(select_ef(p, 0x0001), 0x9000);
	assert_int_equal(send_hex(p, "00B0000004"), 0x6982);
	assert_int_equal(sim_phone_apdu_count(p), 7);
	sim_phone_leave(p);
	assert_false(sim_phone_transmit(p, cmd, sizeof(cmd), resp, &resp_len));
	sim_phone_clear_totals(p);
	sim_phone_totals(p, &t);
	assert_int_equal(t.apdus, 0);
	sim_phone_free(p);
	fclose(log);

	assert_non_null(strstr(log_buf, "{\"n\":1,\"ins\":\"A4\",\"cmd\":\"00A4040C0A" AID
	                                "\",\"resp\":\"9000\",\"sw\":\"9000\",\"cmd_bytes\":15,"
	                                "\"resp_bytes\":2,\"air_ms\":"));
	assert_non_null(strstr(log_buf, "\"cmd\":\"0020008004********\""));
	assert_null(strstr(log_buf, "31323334"));
	assert_non_null(strstr(log_buf, "{\"n\":4,\"ins\":\"A4\",\"cmd\":\"00A4020C020006\","
	                                "\"left\":true}\n"));
	assert_non_null(strstr(log_buf, "\"sw\":\"6982\""));
	/* one line per exchange: 3 + left + 3 */
	{
		int lines = 0;

		for (const char *c = log_buf; *c; c++)
			lines += *c == '\n';
		assert_int_equal(lines, 7);
	}
	free(log_buf);
}

static void test_log_redacts_malformed(void **state)
{
	char *log_buf = NULL;
	size_t log_size = 0;
	FILE *log = open_memstream(&log_buf, &log_size);
	sim_config cfg = {.persona = SIM_PERSONA_CARD, .log = log};
	sim_phone *p;

	(void)state;
	assert_non_null(log);
	p = new_phone_cfg(&cfg);
	/* Lc says 8 but 4 bytes follow: still no PIN in the log */
	assert_int_equal(send_hex(p, "0024018008 35363738"), 0x6700);
	assert_int_equal(send_hex(p, "0020008004 31323334 00"), 0x6700);
	sim_phone_free(p);
	fclose(log);
	assert_non_null(strstr(log_buf, "\"cmd\":\"0024018008********\""));
	assert_null(strstr(log_buf, "3536"));
	assert_null(strstr(log_buf, "3132"));
	free(log_buf);
}

/* Random bytes in every state: always an answer, never a crash (and clean
 * under valgrind). */
static void test_garbage(void **state)
{
	sim_config cfg = {.persona = SIM_PERSONA_ANDROID, .accept_extended = true};
	sim_phone *p = new_phone_cfg(&cfg);
	static uint8_t cmd[70000];
	uint32_t x = 12345;
	static const uint8_t ins[] = {0xA4, 0xB0, 0x20, 0x24, 0x2A, 0xCA};

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t len;

		x = x * 1103515245u + 12345u;
		len = (x >> 16) % 24;
		if (i % 100 == 0)
			len = (x >> 8) % sizeof(cmd);
		for (size_t j = 0; j < len; j++) {
			x = x * 1103515245u + 12345u;
			cmd[j] = (uint8_t)(x >> 16);
		}
		/* steer half of them to real instructions and states */
		if (len >= 2 && (i & 1)) {
			cmd[0] = ins[i % 6] == 0x2A ? 0x80 : 0x00;
			cmd[1] = ins[(i / 2) % 6];
		}
		if (i % 50 == 0) {
			send_hex(p, SELECT_AP);
			select_ef(p, (uint16_t) "\x00\x06\x0A\x0B\x17\x18\x01\x02\x1A\x1B"[i % 10]);
		}
		if (i % 500 == 0) {
			select_ef(p, 0x0018);
			verify(p, "1234");
		}
		send_raw(p, cmd, len);
	}
	sim_phone_free(p);
}

static void test_bad_pki(void **state)
{
	sim_config cfg = {.pki_dir = "/nonexistent/kazashi"};

	(void)state;
	assert_null(sim_phone_new(&cfg));
	assert_null(sim_phone_new(NULL));
	cfg.pki_dir = pki_dir;
	cfg.auth_pin = "";
	assert_null(sim_phone_new(&cfg));
	sim_phone_free(NULL);
	assert_false(sim_phone_transmit(NULL, NULL, 0, resp, &resp_len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_link_model),
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_token_info),
	    cmocka_unit_test(test_read_card),
	    cmocka_unit_test(test_read_extended),
	    cmocka_unit_test(test_cert_ef_padding),
	    cmocka_unit_test(test_verify),
	    cmocka_unit_test(test_tries_config),
	    cmocka_unit_test(test_change_pin),
	    cmocka_unit_test(test_sign),
	    cmocka_unit_test(test_phone_personas),
	    cmocka_unit_test(test_leave_and_log),
	    cmocka_unit_test(test_log_redacts_malformed),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_bad_pki),
	};

	return cmocka_run_group_tests(tests, make_pki, remove_pki);
}
