/* PIN forms: a value that can never be right is refused before it is sent,
 * so that it costs no try. */
#ifndef KZ_JPKI_PIN_H
#define KZ_JPKI_PIN_H

#include <stddef.h>
#include <stdint.h>

#include "jpki/jpki.h"
#include "kazashi/kazashi.h"

#define JPKI_PIN_MAX_LEN KAZASHI_SIGN_PIN_MAX_LEN

/* Shortest and longest PIN of a key: auth 4/4, sign 6/16. */
size_t jpki_pin_min_len(jpki_key key);
size_t jpki_pin_max_len(jpki_key key);

/* Check the form and normalise: the signature password is upper-cased as
 * the official JPKI client does. out must hold JPKI_PIN_MAX_LEN bytes.
 * KZ_E_PIN_LENGTH for a wrong length, KZ_E_PIN_FORMAT for a character that
 * cannot be in it (auth: not a digit; sign: not A-Z0-9 after upper-casing). */
kz_err jpki_pin_normalise(jpki_key key, const uint8_t *pin, size_t len,
                          uint8_t out[JPKI_PIN_MAX_LEN], size_t *out_len);

#endif
