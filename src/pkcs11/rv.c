#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "pkcs11/rv.h"
#include "util/log.h"

CK_RV kz_rv(kz_err e)
{
	switch (e) {
	case KZ_OK:
		return CKR_OK;
	case KZ_E_NOMEM:
		return CKR_HOST_MEMORY;
	case KZ_E_ARGS:
		return CKR_ARGUMENTS_BAD;
	case KZ_E_REMOVED:
	case KZ_E_NO_READER:
		return CKR_DEVICE_REMOVED;
	case KZ_E_NO_CARD:
		return CKR_TOKEN_NOT_PRESENT;
	case KZ_E_CANCELLED:
		return CKR_FUNCTION_CANCELED;
	case KZ_E_SECURITY:
		return CKR_USER_NOT_LOGGED_IN;
	case KZ_E_PIN_INCORRECT:
		return CKR_PIN_INCORRECT;
	case KZ_E_PIN_LOCKED:
		return CKR_PIN_LOCKED;
	case KZ_E_PIN_FORMAT:
		return CKR_PIN_INVALID;
	case KZ_E_PIN_LENGTH:
		return CKR_PIN_LEN_RANGE;
	case KZ_E_DATA_LEN:
		return CKR_DATA_LEN_RANGE;
	case KZ_E_COMM:
	case KZ_E_TIMEOUT:
	case KZ_E_PROTOCOL:
	case KZ_E_NOT_FOUND:
	case KZ_E_UNSUPPORTED:
	case KZ_E_CARD:
		break;
	}
	/* The phone answered something we cannot use: the device erred. */
	return CKR_DEVICE_ERROR;
}

CK_RV kz_rv_trace(const char *fn, CK_RV rv)
{
	if (rv != CKR_OK)
		KZ_DEBUG("%s: %s", fn, kz_rv_name(rv));
	return rv;
}
