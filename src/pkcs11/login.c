#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <openssl/crypto.h>

#include "jpki/pin.h"
#include "pkcs11/login.h"
#include "pkcs11/rv.h"
#include "pkcs11/session.h"
#include "util/log.h"

static const char *const pin_names[JPKI_KEY_COUNT] = {"user-authentication PIN",
                                                      "signature password"};

/* Form check and normalisation, before any APDU: a PIN that can never be
 * right must not cost a try. The PIN itself is never logged. */
static CK_RV normalise(jpki_key key, const CK_UTF8CHAR *pin, CK_ULONG len,
                       uint8_t out[JPKI_PIN_MAX_LEN], size_t *out_len)
{
	if (pin == NULL)
		return CKR_ARGUMENTS_BAD; /* no protected authentication path */
	kz_err e = jpki_pin_normalise(key, pin, len, out, out_len);
	if (e != KZ_OK)
		KZ_INFO("%s refused before sending: %s", pin_names[key], kz_err_str(e));
	return kz_rv(e);
}

/* One VERIFY, never repeated: if its answer is lost the caller decides. */
static CK_RV verify(kz_session *s, const CK_UTF8CHAR *pin, CK_ULONG len)
{
	kz_token *t = &s->reader->token;
	uint8_t norm[JPKI_PIN_MAX_LEN];
	size_t norm_len = 0;
	CK_RV rv = normalise(s->key, pin, len, norm, &norm_len);
	if (rv != CKR_OK)
		return rv;
	if (t->tries[s->key] == 0) {
		KZ_INFO("%s is blocked; only a municipal office can reset it", pin_names[s->key]);
		OPENSSL_cleanse(norm, sizeof(norm));
		return CKR_PIN_LOCKED;
	}
	/* A phone that leaves during the VERIFY takes its sessions, s
	 * included, with it: nothing of s is read after the call. */
	jpki_key key = s->key;
	kz_err e = kz_token_verify(s->reader, key, norm, norm_len);
	OPENSSL_cleanse(norm, sizeof(norm));
	if (e == KZ_E_PIN_INCORRECT)
		KZ_INFO("wrong %s: %d %s left", pin_names[key], t->tries[key],
		        t->tries[key] == 1 ? "try" : "tries");
	else if (e != KZ_OK)
		KZ_INFO("%s not verified: %s", pin_names[key], kz_err_str(e));
	return kz_rv(e);
}

CK_RV kz_login(kz_session *s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	kz_token *t = &s->reader->token;
	switch (user) {
	case CKU_USER:
		if (t->logged_in[s->key])
			return CKR_USER_ALREADY_LOGGED_IN;
		break;
	case CKU_CONTEXT_SPECIFIC:
		if (!s->sign.active)
			return CKR_OPERATION_NOT_INITIALIZED;
		break;
	case CKU_SO:
		return CKR_USER_TYPE_INVALID; /* JPKI has no security officer */
	default:
		return CKR_USER_TYPE_INVALID;
	}
	jpki_key key = s->key;
	kz_reader *r = s->reader;
	CK_RV rv = verify(s, pin, len);
	if (rv != CKR_OK)
		return rv; /* s may be gone if the phone left */
	r->token.logged_in[key] = true;
	if (user == CKU_CONTEXT_SPECIFIC)
		s->sign.context_login = true;
	return CKR_OK;
}

CK_RV kz_logout(kz_session *s)
{
	if (!kz_session_logged_in(s))
		return CKR_USER_NOT_LOGGED_IN;
	/* The specification lets operations survive a logout or not; a
	 * signature begun by a user who has gone must not be finished. */
	kz_session_end_operations(s->reader, s->key);
	kz_token_logout(s->reader, s->key);
	return CKR_OK;
}

CK_RV kz_set_pin(kz_session *s, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len, CK_UTF8CHAR_PTR new_pin,
                 CK_ULONG new_len)
{
	uint8_t norm[JPKI_PIN_MAX_LEN];
	size_t norm_len = 0;
	/* Both values are checked before the old one is sent. */
	CK_RV rv = normalise(s->key, new_pin, new_len, norm, &norm_len);
	OPENSSL_cleanse(norm, sizeof(norm));
	if (rv != CKR_OK)
		return rv;
	jpki_key key = s->key;
	kz_reader *r = s->reader;
	bool was_logged_in = r->token.logged_in[key];
	rv = verify(s, old_pin, old_len);
	if (rv != CKR_OK)
		return rv;
	(void)normalise(key, new_pin, new_len, norm, &norm_len);
	rv = kz_rv(kz_token_change_pin(r, key, norm, norm_len));
	OPENSSL_cleanse(norm, sizeof(norm));
	if (rv == CKR_OK)
		KZ_INFO("%s changed", pin_names[key]);
	/* CHANGE REFERENCE DATA needs the old PIN verified, and the card
	 * keeps it so. A session that was public must stay public, on the
	 * card as in the module: make the card forget (s may be gone with
	 * the phone; r is not). */
	if (!was_logged_in && r->token.present)
		kz_token_logout(r, key);
	return rv;
}
