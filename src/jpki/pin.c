/* PIN forms of the two JPKI PINs. A PIN that can never be right is refused
 * here, before it reaches the card, because every VERIFY that fails costs a
 * try and a blocked PIN can only be reset at a municipal office. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <openssl/crypto.h>

#include "jpki/pin.h"
#include "kazashi/kazashi.h"

size_t jpki_pin_min_len(jpki_key key)
{
	switch (key) {
	case JPKI_KEY_AUTH:
		return KAZASHI_AUTH_PIN_LEN;
	case JPKI_KEY_SIGN:
		return KAZASHI_SIGN_PIN_MIN_LEN;
	}
	return 0;
}

size_t jpki_pin_max_len(jpki_key key)
{
	switch (key) {
	case JPKI_KEY_AUTH:
		return KAZASHI_AUTH_PIN_LEN;
	case JPKI_KEY_SIGN:
		return KAZASHI_SIGN_PIN_MAX_LEN;
	}
	return 0;
}

/* ASCII only, on purpose: <ctype.h> depends on the host program's locale,
 * and a PIN must be judged the same whatever that is. */
static bool is_digit(uint8_t ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_upper(uint8_t ch)
{
	return ch >= 'A' && ch <= 'Z';
}

static uint8_t to_upper(uint8_t ch)
{
	return ch >= 'a' && ch <= 'z' ? (uint8_t)(ch - 'a' + 'A') : ch;
}

/* Maps one character of a key's PIN; false when it cannot be in the PIN.
 * The signature password is upper-cased as the official client does; it is
 * said to mix letters and digits, but the card is the judge of that: only
 * the character set is checked here, so that no valid password is refused. */
static bool map_char(jpki_key key, uint8_t in, uint8_t *out)
{
	if (key == JPKI_KEY_AUTH) {
		*out = in;
		return is_digit(in);
	}
	*out = to_upper(in);
	return is_digit(*out) || is_upper(*out);
}

kz_err jpki_pin_normalise(jpki_key key, const uint8_t *pin, size_t len,
                          uint8_t out[JPKI_PIN_MAX_LEN], size_t *out_len)
{
	if (out == NULL || out_len == NULL || (pin == NULL && len > 0))
		return KZ_E_ARGS;
	if (key != JPKI_KEY_AUTH && key != JPKI_KEY_SIGN)
		return KZ_E_ARGS;
	*out_len = 0;
	if (len < jpki_pin_min_len(key) || len > jpki_pin_max_len(key))
		return KZ_E_PIN_LENGTH;
	for (size_t i = 0; i < len; i++) {
		if (!map_char(key, pin[i], &out[i])) {
			OPENSSL_cleanse(out, JPKI_PIN_MAX_LEN);
			return KZ_E_PIN_FORMAT;
		}
	}
	*out_len = len;
	return KZ_OK;
}
