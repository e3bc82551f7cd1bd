/* kazashi change-pin auth|sign: both values are asked and form-checked
 * before the phone is even needed, so that a typing mistake costs no try;
 * the module then verifies the old value and sets the new one. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tools/commands.h"
#include "tools/exitcode.h"
#include "tools/token.h"

typedef struct values {
	kc_secret old_pin, new_pin, again;
} values;

static int ask(kc_kind kind, const kc_opts *o, const kc_deadline *d, values *v)
{
	const char *what = kind == KC_KIND_AUTH ? "user-authentication PIN (4 digits)"
	                                        : "signature password (6-16 letters and digits)";
	char prompt[96];
	snprintf(prompt, sizeof(prompt), "Current %s: ", what);
	int rc = kc_secret_get(&v->old_pin, kind, false, prompt, o->pin_fd, d);
	snprintf(prompt, sizeof(prompt), "New %s: ", what);
	if (rc == KC_OK)
		rc = kc_secret_get(&v->new_pin, kind, true, prompt, o->pin_fd, d);
	/* Typed blind, so typed twice; a value from a descriptor is what the
	 * caller meant. */
	if (rc == KC_OK && o->pin_fd < 0) {
		snprintf(prompt, sizeof(prompt), "New %s again: ", what);
		rc = kc_secret_get(&v->again, kind, true, prompt, o->pin_fd, d);
		if (rc == KC_OK &&
		    (v->again.len != v->new_pin.len ||
		     CRYPTO_memcmp(v->again.value, v->new_pin.value, v->new_pin.len) != 0))
			rc = kc_fail(KC_ERROR, "the two new values differ; nothing was changed");
	}
	return rc;
}

int kc_cmd_change_pin(kc_module *m, const kc_opts *o)
{
	kc_kind kind;
	if (!kc_cli_kind(o->args[0], &kind))
		return kc_fail(KC_ERROR,
		               "change-pin auth changes the user-authentication PIN, "
		               "change-pin sign the signature password; not '%s'",
		               o->args[0]);
	kc_deadline d;
	kc_deadline_start(&d, o->timeout);
	values v;
	memset(&v, 0, sizeof(v));
	int rc = ask(kind, o, &d, &v);
	kc_token t;
	memset(&t, 0, sizeof(t));
	/* C_SetPIN wants a read-write session. */
	if (rc == KC_OK)
		rc = kc_token_tap(&t, m->f, kind, true, &d);
	if (rc == KC_OK && (t.slot.flags & CKF_USER_PIN_LOCKED))
		rc = kc_token_pin_failed(&t, CKR_PIN_LOCKED);
	if (rc == KC_OK) {
		CK_RV rv = m->f->C_SetPIN(t.session, (CK_UTF8CHAR_PTR)v.old_pin.value,
		                          (CK_ULONG)v.old_pin.len, (CK_UTF8CHAR_PTR)v.new_pin.value,
		                          (CK_ULONG)v.new_pin.len);
		if (rv != CKR_OK)
			rc = kc_token_failed(&t, rv, "changing the PIN");
		/* The change may have reached the card before the answer was
		 * lost: say so rather than guess. */
		if (rc == KC_REMOVED || rc == KC_NO_DEVICE)
			kc_note("kazashi: the change may or may not have been made: if the current "
			        "value is refused next time, use the new one");
	}
	if (rc == KC_OK)
		printf("The %s is changed.\n", kc_kind_secret(kind));
	kc_token_close(&t);
	OPENSSL_cleanse(&v, sizeof(v));
	return rc;
}
