/* ISO/IEC 7816-4 APDUs: building commands and splitting responses.
 * No I/O here; the JPKI layer sends what this builds. */
#ifndef KZ_APDU_APDU_H
#define KZ_APDU_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Largest short and extended command and response APDUs. */
#define KZ_APDU_SHORT_CMD_MAX  (4 + 1 + 255 + 1)
#define KZ_APDU_SHORT_RESP_MAX (256 + 2)
#define KZ_APDU_EXT_CMD_MAX    (4 + 3 + 65535 + 2)
#define KZ_APDU_EXT_RESP_MAX   (65536 + 2)

typedef struct kz_apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data; /* command data, NULL when lc == 0 */
	size_t lc;           /* command data length */
	size_t le;     /* expected response length: 0 none, 256 short max, 65536 extended max */
	bool extended; /* encode Lc/Le in extended form */
} kz_apdu;

/* Encode into out (capacity cap); *out_len gets the length.
 * KZ_E_ARGS when the lengths do not fit the chosen form or cap. */
kz_err kz_apdu_encode(const kz_apdu *a, uint8_t *out, size_t cap, size_t *out_len);

typedef struct kz_rapdu {
	const uint8_t *data; /* points into the response buffer */
	size_t len;
	uint16_t sw; /* SW1 << 8 | SW2 */
} kz_rapdu;

/* Split a response into data and status word. KZ_E_PROTOCOL when shorter
 * than two bytes. */
kz_err kz_apdu_split(const uint8_t *resp, size_t resp_len, kz_rapdu *out);

#define KZ_SW_OK           0x9000
#define KZ_SW_EOF_WARNING  0x6282 /* end of file reached before Le bytes */
#define KZ_SW_WRONG_LENGTH 0x6700
#define KZ_SW_SEC_NOT_SAT  0x6982
#define KZ_SW_AUTH_BLOCKED 0x6983
#define KZ_SW_REF_BLOCKED  0x6984
#define KZ_SW_COND_NOT_SAT 0x6985
#define KZ_SW_NOT_ALLOWED  0x6986
#define KZ_SW_WRONG_DATA   0x6A80
#define KZ_SW_FILE_NOT_FND 0x6A82
#define KZ_SW_WRONG_P1P2   0x6A86
#define KZ_SW_WRONG_OFFSET 0x6B00
#define KZ_SW_INS_NOT_SUPP 0x6D00
#define KZ_SW_CLA_NOT_SUPP 0x6E00

/* 63Cx: a PIN check that failed or a tries query; returns x, or -1. */
int kz_sw_tries_left(uint16_t sw);

/* Status word to internal error, for a command whose only success is 9000. */
kz_err kz_sw_to_err(uint16_t sw);

#endif
