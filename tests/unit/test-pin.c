/* PIN forms: a PIN that can never be right must never reach the card. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jpki/pin.h"

static kz_err norm(jpki_key key, const char *pin, uint8_t out[JPKI_PIN_MAX_LEN], size_t *len)
{
	return jpki_pin_normalise(key, (const uint8_t *)pin, strlen(pin), out, len);
}

static void expect_ok(jpki_key key, const char *pin, const char *want)
{
	uint8_t out[JPKI_PIN_MAX_LEN];
	size_t len = 99;
	assert_int_equal(norm(key, pin, out, &len), KZ_OK);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
}

static void expect_err(jpki_key key, const char *pin, kz_err want)
{
	uint8_t out[JPKI_PIN_MAX_LEN];
	size_t len = 99;
	assert_int_equal(norm(key, pin, out, &len), want);
	assert_int_equal(len, 0);
}

static void test_lengths(void **state)
{
	(void)state;
	assert_int_equal(jpki_pin_min_len(JPKI_KEY_AUTH), 4);
	assert_int_equal(jpki_pin_max_len(JPKI_KEY_AUTH), 4);
	assert_int_equal(jpki_pin_min_len(JPKI_KEY_SIGN), 6);
	assert_int_equal(jpki_pin_max_len(JPKI_KEY_SIGN), 16);
	assert_int_equal(jpki_pin_max_len((jpki_key)7), 0);
}

static void test_auth(void **state)
{
	(void)state;
	expect_ok(JPKI_KEY_AUTH, "1234", "1234");
	expect_ok(JPKI_KEY_AUTH, "0000", "0000");
	expect_ok(JPKI_KEY_AUTH, "9999", "9999");
	expect_err(JPKI_KEY_AUTH, "", KZ_E_PIN_LENGTH);
	expect_err(JPKI_KEY_AUTH, "123", KZ_E_PIN_LENGTH);
	expect_err(JPKI_KEY_AUTH, "12345", KZ_E_PIN_LENGTH);
	expect_err(JPKI_KEY_AUTH, "12a4", KZ_E_PIN_FORMAT);
	expect_err(JPKI_KEY_AUTH, "123 ", KZ_E_PIN_FORMAT);
	expect_err(JPKI_KEY_AUTH, "/:09", KZ_E_PIN_FORMAT); /* around '0'-'9' */
	/* full-width digit one (3 bytes of UTF-8) and a 2: 4 bytes, not digits */
	expect_err(JPKI_KEY_AUTH,
	           "\xef\xbc\x91"
	           "2",
	           KZ_E_PIN_FORMAT);
}

static void test_sign(void **state)
{
	(void)state;
	expect_ok(JPKI_KEY_SIGN, "ABC123", "ABC123");
	expect_ok(JPKI_KEY_SIGN, "abc123", "ABC123"); /* upper-cased */
	expect_ok(JPKI_KEY_SIGN, "aBz09Z", "ABZ09Z");
	/* letters only and digits only: the card judges the mix */
	expect_ok(JPKI_KEY_SIGN, "ABCDEF", "ABCDEF");
	expect_ok(JPKI_KEY_SIGN, "123456", "123456");
	expect_ok(JPKI_KEY_SIGN, "ABCDEFGHIJ123456", "ABCDEFGHIJ123456");
	expect_err(JPKI_KEY_SIGN, "ABC12", KZ_E_PIN_LENGTH);
	expect_err(JPKI_KEY_SIGN, "ABCDEFGHIJ1234567", KZ_E_PIN_LENGTH);
	expect_err(JPKI_KEY_SIGN, "ABC-12", KZ_E_PIN_FORMAT);
	expect_err(JPKI_KEY_SIGN, "ABC 12", KZ_E_PIN_FORMAT);
	expect_err(JPKI_KEY_SIGN, "ABC12@", KZ_E_PIN_FORMAT); /* '@' is before 'A' */
	expect_err(JPKI_KEY_SIGN, "ABC12[", KZ_E_PIN_FORMAT); /* '[' is after 'Z' */
	expect_err(JPKI_KEY_SIGN, "abc12`", KZ_E_PIN_FORMAT); /* '`' is before 'a' */
	expect_err(JPKI_KEY_SIGN, "abc12{", KZ_E_PIN_FORMAT); /* '{' is after 'z' */
	expect_err(JPKI_KEY_SIGN, "ABC12\xc3\xa9", KZ_E_PIN_FORMAT);
}

/* Length is judged first: a short PIN with a bad character is a length
 * error, which is what the user can fix first. */
static void test_length_before_charset(void **state)
{
	(void)state;
	expect_err(JPKI_KEY_AUTH, "a-", KZ_E_PIN_LENGTH);
	expect_err(JPKI_KEY_SIGN, "a-", KZ_E_PIN_LENGTH);
	expect_err(JPKI_KEY_SIGN, "-----------------", KZ_E_PIN_LENGTH);
}

static void test_embedded_nul(void **state)
{
	(void)state;
	static const uint8_t pin[] = {'1', '2', 0, '4'};
	uint8_t out[JPKI_PIN_MAX_LEN];
	size_t len;
	assert_int_equal(jpki_pin_normalise(JPKI_KEY_AUTH, pin, 4, out, &len), KZ_E_PIN_FORMAT);
}

/* A refused PIN leaves nothing of itself in out. */
static void test_wiped_on_error(void **state)
{
	(void)state;
	uint8_t out[JPKI_PIN_MAX_LEN];
	static const uint8_t zero[JPKI_PIN_MAX_LEN];
	size_t len;
	memset(out, 0xEE, sizeof out);
	assert_int_equal(norm(JPKI_KEY_SIGN, "SECRET1-", out, &len), KZ_E_PIN_FORMAT);
	assert_memory_equal(out, zero, sizeof out);
}

static void test_bad_args(void **state)
{
	(void)state;
	uint8_t out[JPKI_PIN_MAX_LEN];
	size_t len;
	const uint8_t *p = (const uint8_t *)"1234";
	assert_int_equal(jpki_pin_normalise(JPKI_KEY_AUTH, NULL, 4, out, &len), KZ_E_ARGS);
	assert_int_equal(jpki_pin_normalise(JPKI_KEY_AUTH, p, 4, NULL, &len), KZ_E_ARGS);
	assert_int_equal(jpki_pin_normalise(JPKI_KEY_AUTH, p, 4, out, NULL), KZ_E_ARGS);
	assert_int_equal(jpki_pin_normalise((jpki_key)2, p, 4, out, &len), KZ_E_ARGS);
	assert_int_equal(jpki_pin_normalise(JPKI_KEY_AUTH, NULL, 0, out, &len), KZ_E_PIN_LENGTH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lengths),      cmocka_unit_test(test_auth),
	    cmocka_unit_test(test_sign),         cmocka_unit_test(test_length_before_charset),
	    cmocka_unit_test(test_embedded_nul), cmocka_unit_test(test_wiped_on_error),
	    cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
