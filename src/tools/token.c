#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "tools/exitcode.h"
#include "tools/module.h"
#include "pkcs11/rv-name.h"
#include "tools/tap.h"
#include "tools/token.h"

int kc_token_failed(kc_token *t, CK_RV rv, const char *what)
{
	const char *noun = kc_holder_noun(&t->slot);
	switch (rv) {
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_SESSION_HANDLE_INVALID: /* the module drops a session whose */
	case CKR_SESSION_CLOSED:         /* token left */
		t->open = false;
		t->logged_in = false;
		return kc_fail(KC_REMOVED, "the %s left the reader while %s: tap it again", noun,
		               what);
	case CKR_PIN_INCORRECT:
	case CKR_PIN_LOCKED:
		return kc_token_pin_failed(t, rv);
	case CKR_DEVICE_ERROR:
	case CKR_DEVICE_MEMORY:
		return kc_fail(KC_NO_DEVICE,
		               "the %s gave an answer that cannot be used while %s (%s): tap it "
		               "again",
		               noun, what, kz_rv_name(rv));
	default:
		return kc_fail(KC_ERROR, "the module failed while %s: %s (0x%lx)", what,
		               kz_rv_name(rv), (unsigned long)rv);
	}
}

static int blocked(kc_token *t)
{
	int rc = kc_fail(KC_PIN_BLOCKED,
	                 "the %s is blocked: no tries are left, and only the municipal office "
	                 "(city hall) can reset it",
	                 kc_kind_secret(t->slot.kind));
	kc_fail_tries(0, 0);
	return rc;
}

int kc_token_pin_failed(kc_token *t, CK_RV rv)
{
	const char *secret = kc_kind_secret(t->slot.kind);
	if (rv == CKR_PIN_LOCKED)
		return blocked(t);
	/* PKCS#11 says how many tries are left only as flags; read them now
	 * that the phone has answered the VERIFY. */
	kc_slot now;
	if (kc_slot_describe(t->f, t->slot.id, &now) != CKR_OK || !now.present) {
		kc_fail(KC_WRONG_PIN, "wrong %s (the %s has left, so the tries left are unknown)",
		        secret, kc_holder_noun(&t->slot));
		return KC_WRONG_PIN;
	}
	int min, max;
	kc_tries(t->slot.kind, now.flags, &min, &max);
	if (max == 0)
		return blocked(t);
	char tries[48];
	kc_tries_text(t->slot.kind, now.flags, tries, sizeof(tries));
	int rc = kc_fail(KC_WRONG_PIN, "wrong %s: %s%s", secret, tries,
	                 max == 1 ? "; one more wrong try blocks it until the municipal office "
	                            "resets it"
	                          : "");
	kc_fail_tries(min, max);
	return rc;
}

int kc_token_tap(kc_token *t, CK_FUNCTION_LIST_PTR f, kc_kind kind, bool rw, const kc_deadline *d)
{
	memset(t, 0, sizeof(*t));
	t->f = f;
	int rc = kc_tap_wait(f, kind, d, &t->slot);
	if (rc != KC_OK)
		return rc;
	kc_note("%s on %s", t->slot.model[0] != '\0' ? t->slot.model : "A token", t->slot.reader);
	CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
	CK_RV rv = f->C_OpenSession(t->slot.id, flags, NULL, NULL, &t->session);
	if (rv != CKR_OK)
		return kc_token_failed(t, rv, "opening a session");
	t->open = true;
	return KC_OK;
}

int kc_token_login(kc_token *t, int pin_fd, const kc_deadline *d)
{
	if (t->slot.flags & CKF_USER_PIN_LOCKED)
		return blocked(t); /* asking would only waste the user's time */
	char prompt[96];
	snprintf(prompt, sizeof(prompt), "%s%s: ",
	         t->slot.kind == KC_KIND_SIGN ? "Signature password (6-16 letters and digits)"
	                                      : "User-authentication PIN (4 digits)",
	         t->slot.flags & CKF_USER_PIN_FINAL_TRY ? " [last try]" : "");
	int rc = kc_secret_get(&t->pin, t->slot.kind, false, prompt, pin_fd, d);
	if (rc != KC_OK)
		return rc;
	CK_RV rv = t->f->C_Login(t->session, CKU_USER, (CK_UTF8CHAR_PTR)t->pin.value,
	                         (CK_ULONG)t->pin.len);
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK; /* by another session of ours: the token is ours */
	if (rv != CKR_OK)
		return kc_token_failed(t, rv, "checking the PIN");
	t->logged_in = true;
	return KC_OK;
}

/* The first object of CLASS with CKA_ID ID, or CK_INVALID_HANDLE. */
static CK_RV find(kc_token *t, CK_OBJECT_CLASS cls, CK_BYTE id, CK_OBJECT_HANDLE *out)
{
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_ID, &id, sizeof(id)},
	};
	CK_ULONG found = 0;
	*out = CK_INVALID_HANDLE;
	CK_RV rv = t->f->C_FindObjectsInit(t->session, tmpl, 2);
	if (rv != CKR_OK)
		return rv;
	rv = t->f->C_FindObjects(t->session, out, 1, &found);
	CK_RV end = t->f->C_FindObjectsFinal(t->session);
	if (found == 0)
		*out = CK_INVALID_HANDLE;
	return rv != CKR_OK ? rv : end;
}

int kc_token_cert(kc_token *t, CK_BYTE id, X509 **out)
{
	*out = NULL;
	CK_OBJECT_HANDLE h;
	CK_RV rv = find(t, CKO_CERTIFICATE, id, &h);
	if (rv != CKR_OK)
		return kc_token_failed(t, rv, "looking for the certificate");
	if (h == CK_INVALID_HANDLE)
		return KC_OK;
	CK_ATTRIBUTE value = {CKA_VALUE, NULL, 0};
	rv = t->f->C_GetAttributeValue(t->session, h, &value, 1);
	if (rv == CKR_OK && (value.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	                     value.ulValueLen == 0 || value.ulValueLen > 64 * 1024))
		rv = CKR_GENERAL_ERROR;
	unsigned char *der = NULL;
	if (rv == CKR_OK) {
		der = malloc(value.ulValueLen);
		value.pValue = der;
		rv = der == NULL ? CKR_HOST_MEMORY
		                 : t->f->C_GetAttributeValue(t->session, h, &value, 1);
	}
	if (rv != CKR_OK) {
		free(der);
		return kc_token_failed(t, rv, "reading the certificate");
	}
	const unsigned char *p = der;
	*out = d2i_X509(NULL, &p, (long)value.ulValueLen);
	bool whole = *out != NULL && p == der + value.ulValueLen;
	free(der);
	if (!whole) {
		X509_free(*out);
		*out = NULL;
		return kc_fail(KC_NO_DEVICE,
		               "the certificate on the %s is not a DER X.509 "
		               "certificate",
		               kc_holder_noun(&t->slot));
	}
	return KC_OK;
}

static bool always_authenticate(kc_token *t, CK_OBJECT_HANDLE key)
{
	CK_BBOOL always = CK_FALSE;
	CK_ATTRIBUTE a = {CKA_ALWAYS_AUTHENTICATE, &always, sizeof(always)};
	return t->f->C_GetAttributeValue(t->session, key, &a, 1) == CKR_OK && always == CK_TRUE;
}

int kc_token_sign(kc_token *t, CK_BYTE id, CK_MECHANISM_TYPE mech, const unsigned char *data,
                  size_t len, unsigned char *sig, size_t *sig_len)
{
	CK_OBJECT_HANDLE key;
	CK_RV rv = find(t, CKO_PRIVATE_KEY, id, &key);
	if (rv == CKR_OK && key == CK_INVALID_HANDLE)
		return kc_fail(KC_ERROR, "the %s shows no private key for the %s",
		               kc_holder_noun(&t->slot), kc_kind_secret(t->slot.kind));
	CK_MECHANISM m = {mech, NULL, 0};
	if (rv == CKR_OK)
		rv = t->f->C_SignInit(t->session, &m, key);
	/* The signature key wants its password again for every signature,
	 * given after C_SignInit; the user typed it once, for both. */
	if (rv == CKR_OK && always_authenticate(t, key)) {
		rv = t->f->C_Login(t->session, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)t->pin.value,
		                   (CK_ULONG)t->pin.len);
	}
	CK_ULONG out_len = (CK_ULONG)*sig_len;
	if (rv == CKR_OK)
		rv = t->f->C_Sign(t->session, (CK_BYTE_PTR)data, (CK_ULONG)len, sig, &out_len);
	if (rv != CKR_OK)
		return kc_token_failed(t, rv, "signing");
	*sig_len = (size_t)out_len;
	return KC_OK;
}

void kc_token_close(kc_token *t)
{
	if (t->open && t->logged_in)
		(void)t->f->C_Logout(t->session);
	if (t->open)
		(void)t->f->C_CloseSession(t->session);
	t->open = t->logged_in = false;
	kc_secret_wipe(&t->pin);
}
