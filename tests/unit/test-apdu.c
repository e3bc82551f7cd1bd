/* APDU encoding and splitting, status words to errors. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apdu/apdu.h"

static uint8_t big[70000];
static uint8_t out[70000];

static void expect_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
}

static void encode_ok(const kz_apdu *a, const uint8_t *want, size_t want_len)
{
	size_t n = 0;
	assert_int_equal(kz_apdu_encode(a, out, sizeof out, &n), KZ_OK);
	expect_bytes(out, n, want, want_len);
	/* exactly the right capacity is enough, one less is not */
	assert_int_equal(kz_apdu_encode(a, out, want_len, &n), KZ_OK);
	assert_int_equal(kz_apdu_encode(a, out, want_len - 1, &n), KZ_E_ARGS);
}

static void encode_fails(const kz_apdu *a)
{
	size_t n = 0;
	assert_int_equal(kz_apdu_encode(a, out, sizeof out, &n), KZ_E_ARGS);
}

static void test_case1(void **state)
{
	(void)state;
	kz_apdu a = {.cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x0C};
	static const uint8_t want[] = {0x00, 0xA4, 0x04, 0x0C};
	encode_ok(&a, want, sizeof want);
	a.extended = true; /* no lengths: the same four bytes */
	encode_ok(&a, want, sizeof want);
}

static void test_case2_short(void **state)
{
	(void)state;
	kz_apdu a = {.cla = 0x00, .ins = 0xB0, .le = 1};
	uint8_t want[] = {0x00, 0xB0, 0x00, 0x00, 0x01};
	encode_ok(&a, want, sizeof want);
	a.le = 0x20;
	want[4] = 0x20;
	encode_ok(&a, want, sizeof want);
	a.le = 255;
	want[4] = 0xFF;
	encode_ok(&a, want, sizeof want);
	a.le = 256; /* 256 is encoded as 00 */
	want[4] = 0x00;
	encode_ok(&a, want, sizeof want);
	a.le = 257;
	encode_fails(&a);
}

static void test_case3_short(void **state)
{
	(void)state;
	static const uint8_t aid[] = {0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
	kz_apdu a = {.ins = 0xA4, .p1 = 0x04, .p2 = 0x0C, .data = aid, .lc = sizeof aid};
	static const uint8_t want[] = {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0,
	                               0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
	encode_ok(&a, want, sizeof want);

	memset(big, 0x5A, sizeof big);
	a.data = big;
	a.lc = 255;
	size_t n = 0;
	assert_int_equal(kz_apdu_encode(&a, out, sizeof out, &n), KZ_OK);
	assert_int_equal(n, 5 + 255);
	assert_int_equal(out[4], 0xFF);
	assert_int_equal(n, KZ_APDU_SHORT_CMD_MAX - 1);
	a.lc = 256;
	encode_fails(&a);
}

static void test_case4_short(void **state)
{
	(void)state;
	static const uint8_t di[3] = {1, 2, 3};
	kz_apdu a = {
	    .cla = 0x80, .ins = 0x2A, .p1 = 0x00, .p2 = 0x80, .data = di, .lc = 3, .le = 256};
	static const uint8_t want[] = {0x80, 0x2A, 0x00, 0x80, 0x03, 1, 2, 3, 0x00};
	encode_ok(&a, want, sizeof want);

	memset(big, 0x11, sizeof big);
	a.data = big;
	a.lc = 255;
	size_t n = 0;
	assert_int_equal(kz_apdu_encode(&a, out, sizeof out, &n), KZ_OK);
	assert_int_equal(n, KZ_APDU_SHORT_CMD_MAX);
	assert_int_equal(out[n - 1], 0x00);
}

static void test_case2_extended(void **state)
{
	(void)state;
	kz_apdu a = {.ins = 0xB0, .le = 65536, .extended = true};
	uint8_t want[] = {0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00};
	encode_ok(&a, want, sizeof want);
	a.le = 256;
	want[5] = 0x01;
	want[6] = 0x00;
	encode_ok(&a, want, sizeof want);
	a.le = 1;
	want[5] = 0x00;
	want[6] = 0x01;
	encode_ok(&a, want, sizeof want);
	a.le = 65535;
	want[5] = 0xFF;
	want[6] = 0xFF;
	encode_ok(&a, want, sizeof want);
	a.le = 65537;
	encode_fails(&a);
}

static void test_case3_extended(void **state)
{
	(void)state;
	static const uint8_t d[2] = {0xAA, 0xBB};
	kz_apdu a = {.ins = 0xD6, .data = d, .lc = 2, .extended = true};
	static const uint8_t want[] = {0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x02, 0xAA, 0xBB};
	encode_ok(&a, want, sizeof want);

	memset(big, 0x22, sizeof big);
	a.data = big;
	a.lc = 65535;
	size_t n = 0;
	assert_int_equal(kz_apdu_encode(&a, out, sizeof out, &n), KZ_OK);
	assert_int_equal(n, 7 + 65535);
	assert_int_equal(out[5], 0xFF);
	assert_int_equal(out[6], 0xFF);
	a.lc = 65536;
	encode_fails(&a);
}

static void test_case4_extended(void **state)
{
	(void)state;
	static const uint8_t d[1] = {0x42};
	kz_apdu a = {.ins = 0x2A, .data = d, .lc = 1, .le = 65536, .extended = true};
	/* Le follows Lc in two bytes, without another 00 */
	static const uint8_t want[] = {0x00, 0x2A, 0x00, 0x00, 0x00, 0x00, 0x01, 0x42, 0x00, 0x00};
	encode_ok(&a, want, sizeof want);

	memset(big, 0x33, sizeof big);
	a.data = big;
	a.lc = 65535;
	a.le = 65536;
	size_t n = 0;
	assert_int_equal(kz_apdu_encode(&a, out, sizeof out, &n), KZ_OK);
	assert_int_equal(n, KZ_APDU_EXT_CMD_MAX);
}

static void test_encode_bad_args(void **state)
{
	(void)state;
	kz_apdu a = {.ins = 0x20, .lc = 4, .data = NULL};
	size_t n;
	encode_fails(&a); /* data missing */
	a.lc = 0;
	assert_int_equal(kz_apdu_encode(NULL, out, sizeof out, &n), KZ_E_ARGS);
	assert_int_equal(kz_apdu_encode(&a, NULL, sizeof out, &n), KZ_E_ARGS);
	assert_int_equal(kz_apdu_encode(&a, out, sizeof out, NULL), KZ_E_ARGS);
	assert_int_equal(kz_apdu_encode(&a, out, 0, &n), KZ_E_ARGS);
	assert_int_equal(kz_apdu_encode(&a, out, 3, &n), KZ_E_ARGS);
}

static void test_split(void **state)
{
	(void)state;
	kz_rapdu r;
	static const uint8_t one[] = {0x90};
	static const uint8_t sw[] = {0x90, 0x00};
	static const uint8_t data[] = {0x30, 0x82, 0x62, 0x82};
	assert_int_equal(kz_apdu_split(one, 0, &r), KZ_E_PROTOCOL);
	assert_int_equal(kz_apdu_split(one, 1, &r), KZ_E_PROTOCOL);
	assert_int_equal(kz_apdu_split(NULL, 2, &r), KZ_E_PROTOCOL);
	assert_int_equal(kz_apdu_split(sw, 2, NULL), KZ_E_ARGS);
	assert_int_equal(kz_apdu_split(sw, 2, &r), KZ_OK);
	assert_int_equal(r.len, 0);
	assert_int_equal(r.sw, 0x9000);
	assert_int_equal(kz_apdu_split(data, 4, &r), KZ_OK);
	assert_ptr_equal(r.data, data);
	assert_int_equal(r.len, 2);
	assert_int_equal(r.sw, 0x6282);
}

static void test_tries_left(void **state)
{
	(void)state;
	for (int x = 0; x < 16; x++)
		assert_int_equal(kz_sw_tries_left((uint16_t)(0x63C0 | x)), x);
	assert_int_equal(kz_sw_tries_left(0x9000), -1);
	assert_int_equal(kz_sw_tries_left(0x63B0), -1);
	assert_int_equal(kz_sw_tries_left(0x6300), -1);
	assert_int_equal(kz_sw_tries_left(0x6984), -1);
	assert_int_equal(kz_sw_tries_left(0x73C1), -1);
}

static void test_sw_to_err(void **state)
{
	(void)state;
	static const struct {
		uint16_t sw;
		kz_err err;
	} table[] = {
	    {0x9000, KZ_OK},
	    {0x6982, KZ_E_SECURITY},
	    {0x6983, KZ_E_PIN_LOCKED},
	    {0x6984, KZ_E_PIN_LOCKED},
	    {0x6A82, KZ_E_NOT_FOUND},
	    {0x6A88, KZ_E_NOT_FOUND},
	    {0x6700, KZ_E_PROTOCOL}, /* lengths are the module's: the card erred */
	    {0x6C00, KZ_E_PROTOCOL},
	    {0x6C20, KZ_E_PROTOCOL},
	    {0x6D00, KZ_E_UNSUPPORTED},
	    {0x6E00, KZ_E_UNSUPPORTED},
	    {0x6A86, KZ_E_UNSUPPORTED},
	    {0x6A81, KZ_E_UNSUPPORTED},
	    {0x6B00, KZ_E_UNSUPPORTED},
	    {0x63C2, KZ_E_PIN_INCORRECT},
	    {0x6282, KZ_E_CARD},
	    {0x6985, KZ_E_CARD},
	    {0x6986, KZ_E_CARD},
	    {0x6A80, KZ_E_CARD},
	    {0x6F00, KZ_E_CARD},
	    {0x6100, KZ_E_CARD},
	    {0x0000, KZ_E_CARD},
	    {0xFFFF, KZ_E_CARD},
	    {0x9001, KZ_E_CARD},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		if (kz_sw_to_err(table[i].sw) != table[i].err)
			fail_msg("SW %04X: got %d, want %d", table[i].sw,
			         (int)kz_sw_to_err(table[i].sw), (int)table[i].err);
	}
}

/* Every encodable (lc, le) pair near the limits encodes to the length the
 * cases say and splits back; nothing else is accepted. */
static void test_lengths_sweep(void **state)
{
	(void)state;
	static const size_t lcs[] = {0, 1, 254, 255, 256, 257, 65534, 65535, 65536};
	static const size_t les[] = {0, 1, 255, 256, 257, 65535, 65536, 65537};
	memset(big, 0x77, sizeof big);
	for (size_t i = 0; i < sizeof lcs / sizeof lcs[0]; i++) {
		for (size_t j = 0; j < sizeof les / sizeof les[0]; j++) {
			for (int ext = 0; ext < 2; ext++) {
				kz_apdu a = {.ins = 0xB0,
				             .data = big,
				             .lc = lcs[i],
				             .le = les[j],
				             .extended = ext != 0};
				bool fits = ext ? lcs[i] <= 65535 && les[j] <= 65536
				                : lcs[i] <= 255 && les[j] <= 256;
				size_t want = 4;
				if (lcs[i] > 0)
					want += (ext ? 3 : 1) + lcs[i];
				if (les[j] > 0)
					want += ext ? (lcs[i] > 0 ? 2 : 3) : 1;
				size_t n = 0;
				kz_err err = kz_apdu_encode(&a, out, sizeof out, &n);
				assert_int_equal(err, fits ? KZ_OK : KZ_E_ARGS);
				if (fits)
					assert_int_equal(n, want);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_case1),          cmocka_unit_test(test_case2_short),
	    cmocka_unit_test(test_case3_short),    cmocka_unit_test(test_case4_short),
	    cmocka_unit_test(test_case2_extended), cmocka_unit_test(test_case3_extended),
	    cmocka_unit_test(test_case4_extended), cmocka_unit_test(test_encode_bad_args),
	    cmocka_unit_test(test_split),          cmocka_unit_test(test_tries_left),
	    cmocka_unit_test(test_sw_to_err),      cmocka_unit_test(test_lengths_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
