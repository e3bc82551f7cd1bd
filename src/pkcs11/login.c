#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

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

/* Whether a PIN may be sent at all: a blocked one may not. */
static CK_RV usable(const kz_token *t, jpki_key key)
{
	if (t->tries[key] != 0)
		return CKR_OK;
	KZ_INFO("%s is blocked; only a municipal office can reset it", pin_names[key]);
	return CKR_PIN_LOCKED;
}

static void log_refusal(const kz_token *t, jpki_key key, kz_err e)
{
	if (e == KZ_E_PIN_INCORRECT)
		KZ_INFO("wrong %s: %d %s left", pin_names[key], t->tries[key],
		        t->tries[key] == 1 ? "try" : "tries");
	else if (e != KZ_OK)
		KZ_INFO("%s not verified: %s", pin_names[key], kz_err_str(e));
}

/* One VERIFY, never repeated: if its answer is lost the caller decides.
 * The normalised PIN is left in norm (the caller wipes it). */
static CK_RV verify(kz_session *s, const CK_UTF8CHAR *pin, CK_ULONG len,
                    uint8_t norm[JPKI_PIN_MAX_LEN], size_t *norm_len)
{
	kz_reader *r = s->reader;
	CK_RV rv = normalise(s->key, pin, len, norm, norm_len);
	if (rv == CKR_OK)
		rv = usable(&r->token, s->key);
	if (rv != CKR_OK)
		return rv;
	/* A phone that leaves during the VERIFY takes its sessions, s
	 * included, with it: nothing of s is read after the call. */
	jpki_key key = s->key;
	kz_err e = kz_token_verify(r, key, norm, *norm_len);
	log_refusal(&r->token, key, e);
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
	uint8_t norm[JPKI_PIN_MAX_LEN];
	size_t norm_len = 0;
	CK_RV rv = verify(s, pin, len, norm, &norm_len);
	if (rv == CKR_OK) {
		r->token.logged_in[key] = true;
		/* The signature password authorises one signature: the
		 * operation's, or else the first one after this login. */
		if (key == JPKI_KEY_SIGN && user == CKU_CONTEXT_SPECIFIC) {
			memcpy(s->sign.pin, norm, norm_len);
			s->sign.pin_len = norm_len;
		} else if (key == JPKI_KEY_SIGN) {
			kz_token_arm(r, norm, norm_len);
		}
	}
	OPENSSL_cleanse(norm, sizeof(norm));
	return rv; /* s may be gone if the phone left */
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
	uint8_t old_norm[JPKI_PIN_MAX_LEN], new_norm[JPKI_PIN_MAX_LEN];
	size_t old_norm_len = 0, new_norm_len = 0;
	jpki_key key = s->key;
	kz_reader *r = s->reader;
	/* Both values are checked before the old one is sent. */
	CK_RV rv = normalise(key, new_pin, new_len, new_norm, &new_norm_len);
	if (rv == CKR_OK)
		rv = normalise(key, old_pin, old_len, old_norm, &old_norm_len);
	if (rv == CKR_OK)
		rv = usable(&r->token, key);
	if (rv == CKR_OK) {
		/* CHANGE REFERENCE DATA needs the old PIN verified, and the
		 * card keeps it so. Only a logged-in user-authentication
		 * token may keep it: a session that was public stays public
		 * on the card as in the module, and the signature password
		 * is never left verified. */
		bool keep = key == JPKI_KEY_AUTH && r->token.logged_in[JPKI_KEY_AUTH];
		kz_err e = kz_token_change_pin(r, key, old_norm, old_norm_len, new_norm,
		                               new_norm_len, keep);
		log_refusal(&r->token, key, e);
		if (e == KZ_OK)
			KZ_INFO("%s changed", pin_names[key]);
		rv = kz_rv(e);
	}
	OPENSSL_cleanse(old_norm, sizeof(old_norm));
	OPENSSL_cleanse(new_norm, sizeof(new_norm));
	return rv; /* s may be gone if the phone left */
}
