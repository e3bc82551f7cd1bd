/* Names for internal result codes, for log lines only: the PKCS#11 front end
 * maps codes to CKR_* itself (pkcs11/rv.c), never through these strings. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "util/err.h"

const char *kz_err_str(kz_err e)
{
	/* A switch rather than a table indexed by e: a value outside the enum
	 * (a cast from elsewhere, memory damage) must not read out of bounds. */
	switch (e) {
	case KZ_OK:
		return "ok";
	case KZ_E_NOMEM:
		return "out of memory";
	case KZ_E_ARGS:
		return "bad arguments";
	case KZ_E_REMOVED:
		return "phone removed";
	case KZ_E_NO_CARD:
		return "no phone or card";
	case KZ_E_NO_READER:
		return "no reader";
	case KZ_E_COMM:
		return "communication error";
	case KZ_E_TIMEOUT:
		return "timeout";
	case KZ_E_CANCELLED:
		return "cancelled";
	case KZ_E_PROTOCOL:
		return "malformed answer";
	case KZ_E_NOT_FOUND:
		return "not found";
	case KZ_E_SECURITY:
		return "PIN required";
	case KZ_E_PIN_INCORRECT:
		return "wrong PIN";
	case KZ_E_PIN_LOCKED:
		return "PIN blocked";
	case KZ_E_PIN_FORMAT:
		return "PIN has characters it cannot have";
	case KZ_E_PIN_LENGTH:
		return "PIN has a length it cannot have";
	case KZ_E_DATA_LEN:
		return "wrong data length";
	case KZ_E_UNSUPPORTED:
		return "not supported by the card";
	case KZ_E_CARD:
		return "card error";
	}
	return "unknown error";
}
