/* ISO/IEC 7816-4 command and response APDUs, without I/O.
 *
 * Command cases (Nc = lc, Ne = le):
 *   1: header                          2: header Le
 *   3: header Lc data                  4: header Lc data Le
 * Short form: Lc one byte 1..255, Le one byte with 00 meaning 256.
 * Extended form: a 00 byte, then Lc in two bytes 1..65535; Le in two bytes
 * with 0000 meaning 65536, preceded by the 00 byte only when there is no Lc.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "apdu/apdu.h"

/* Encoded size of a; 0 when the lengths do not fit the chosen form. */
static size_t encoded_len(const kz_apdu *a)
{
	size_t n = 4;
	if (a->extended) {
		if (a->lc > 65535 || a->le > 65536)
			return 0;
		if (a->lc > 0)
			n += 3 + a->lc;
		if (a->le > 0)
			n += a->lc > 0 ? 2 : 3;
	} else {
		if (a->lc > 255 || a->le > 256)
			return 0;
		if (a->lc > 0)
			n += 1 + a->lc;
		if (a->le > 0)
			n += 1;
	}
	return n;
}

kz_err kz_apdu_encode(const kz_apdu *a, uint8_t *out, size_t cap, size_t *out_len)
{
	if (a == NULL || out == NULL || out_len == NULL)
		return KZ_E_ARGS;
	if (a->lc > 0 && a->data == NULL)
		return KZ_E_ARGS;
	size_t n = encoded_len(a);
	if (n == 0 || n > cap)
		return KZ_E_ARGS;

	uint8_t *w = out;
	*w++ = a->cla;
	*w++ = a->ins;
	*w++ = a->p1;
	*w++ = a->p2;
	if (a->extended && (a->lc > 0 || a->le > 0))
		*w++ = 0x00; /* marks the extended form */
	if (a->lc > 0) {
		if (a->extended)
			*w++ = (uint8_t)(a->lc >> 8);
		*w++ = (uint8_t)a->lc;
		memcpy(w, a->data, a->lc);
		w += a->lc;
	}
	if (a->le > 0) {
		/* 256 (short) and 65536 (extended) wrap to zero, as encoded. */
		if (a->extended)
			*w++ = (uint8_t)(a->le >> 8);
		*w++ = (uint8_t)a->le;
	}
	*out_len = (size_t)(w - out);
	return KZ_OK;
}

kz_err kz_apdu_split(const uint8_t *resp, size_t resp_len, kz_rapdu *out)
{
	if (out == NULL)
		return KZ_E_ARGS;
	if (resp == NULL || resp_len < 2)
		return KZ_E_PROTOCOL;
	out->data = resp;
	out->len = resp_len - 2;
	out->sw = (uint16_t)(resp[resp_len - 2] << 8 | resp[resp_len - 1]);
	return KZ_OK;
}

int kz_sw_tries_left(uint16_t sw)
{
	if ((sw & 0xFFF0) == 0x63C0)
		return sw & 0x0F;
	return -1;
}

kz_err kz_sw_to_err(uint16_t sw)
{
	switch (sw) {
	case KZ_SW_OK:
		return KZ_OK;
	case KZ_SW_SEC_NOT_SAT:
		return KZ_E_SECURITY;
	case KZ_SW_AUTH_BLOCKED:
	case KZ_SW_REF_BLOCKED:
		return KZ_E_PIN_LOCKED;
	case KZ_SW_FILE_NOT_FND:
	case 0x6A88: /* referenced data not found */
		return KZ_E_NOT_FOUND;
	case KZ_SW_INS_NOT_SUPP:
	case KZ_SW_CLA_NOT_SUPP:
	case KZ_SW_WRONG_P1P2:
	case 0x6A81: /* function not supported */
	case KZ_SW_WRONG_OFFSET:
		return KZ_E_UNSUPPORTED;
	default:
		break;
	}
	/* 6700 (wrong length) and 6Cxx (wrong Le, SW2 the right one): every
	 * length in a command is the module's own choice, checked before it
	 * is sent; jpki_transmit resends the one command that may honour a
	 * 6Cxx (a short READ BINARY), and VERIFY and CHANGE REFERENCE DATA
	 * read a 6700 as a PIN length first. One that comes this far is the
	 * card's fault, never the caller's data: KZ_E_DATA_LEN would reach
	 * the application as CKR_DATA_LEN_RANGE, from C_Login or
	 * C_GetAttributeValue too. */
	if (sw == KZ_SW_WRONG_LENGTH || (sw & 0xFF00) == 0x6C00)
		return KZ_E_PROTOCOL;
	/* A failed PIN check: the caller reads the tries with
	 * kz_sw_tries_left; here it only matters that it is a wrong PIN. */
	if ((sw & 0xFFF0) == 0x63C0)
		return KZ_E_PIN_INCORRECT;
	return KZ_E_CARD;
}
