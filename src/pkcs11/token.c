#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "pkcs11/module.h"
#include "pkcs11/session.h"
#include "pkcs11/token.h"
#include "util/log.h"

static void forget_certs(kz_token *t)
{
	for (int k = 0; k < JPKI_KEY_COUNT; k++) {
		jpki_cert_clear(&t->cert[k].cert);
		jpki_cert_clear(&t->ca[k].cert);
		t->cert[k].loaded = t->ca[k].loaded = false;
	}
}

void kz_token_leave(kz_reader *r, const char *why)
{
	kz_token *t = &r->token;
	if (t->present) {
		KZ_INFO("%s: %s", r->name, why);
		r->event[0] = r->event[1] = true;
	}
	kz_session_drop_reader(r);
	if (t->link != NULL)
		r->backend->ops->disconnect(t->link);
	t->link = NULL;
	forget_certs(t);
	t->present = false;
	t->model = JPKI_MODEL_UNKNOWN;
	t->info[0] = '\0';
	for (int k = 0; k < JPKI_KEY_COUNT; k++) {
		t->tries[k] = -1;
		t->logged_in[k] = false;
	}
}

/* Hold the card for a sequence of APDUs. If somebody else reset it in
 * between, what we believed of its state (selection, verified PINs) is
 * gone with the reset. */
static kz_err hold(kz_reader *r)
{
	kz_token *t = &r->token;
	bool reset = false;
	if (t->link == NULL)
		return KZ_E_REMOVED;
	kz_err e = r->backend->ops->begin(t->link, &reset);
	if (e == KZ_OK && reset) {
		KZ_INFO("%s: the card was reset by another application", r->name);
		jpki_card_forget(&t->card);
		t->logged_in[0] = t->logged_in[1] = false;
	}
	if (e == KZ_E_REMOVED)
		kz_token_leave(r, "the phone left the field");
	return e;
}

/* End the hold; a phone that left is forgotten here, once. */
static kz_err release(kz_reader *r, kz_err e)
{
	kz_token *t = &r->token;
	if (t->link != NULL && e != KZ_E_REMOVED)
		r->backend->ops->end(t->link);
	if (e == KZ_E_REMOVED)
		kz_token_leave(r, "the phone left during an operation");
	return e;
}

static kz_err identify(kz_reader *r)
{
	kz_token *t = &r->token;
	kz_err e = jpki_select_app(&t->card);
	if (e == KZ_OK)
		e = jpki_read_token_info(&t->card, t->info, &t->model);
	/* Signature PIN first, so that the user-authentication PIN EF stays
	 * selected for the login that most relying parties do next. */
	for (int k = JPKI_KEY_COUNT - 1; e == KZ_OK && k >= 0; k--)
		e = jpki_pin_tries(&t->card, (jpki_key)k, &t->tries[k]);
	return e;
}

kz_err kz_token_arrive(kz_reader *r, unsigned long event_count)
{
	kz_token *t = &r->token;
	t->tried = true;
	t->event_count = event_count;
	kz_err e = r->backend->ops->connect(r->backend, r->name, &t->link);
	if (e != KZ_OK) {
		KZ_DEBUG("%s: cannot connect: %s", r->name, kz_err_str(e));
		t->link = NULL;
		return e;
	}
	jpki_card_init(&t->card, &t->link->transport);
	if (!kz_mod.config.extended_apdu)
		t->card.extended = JPKI_EXT_NO;
	e = hold(r);
	if (e == KZ_OK)
		e = release(r, identify(r));
	if (e != KZ_OK) {
		KZ_INFO("%s: no JPKI application: %s", r->name, kz_err_str(e));
		if (t->link != NULL)
			r->backend->ops->disconnect(t->link);
		t->link = NULL;
		t->tries[0] = t->tries[1] = -1;
		return e;
	}
	t->present = true;
	t->tap++;
	r->event[0] = r->event[1] = true;
	KZ_INFO("%s: %s arrived (%s), PIN tries %d/%d", r->name, jpki_model_name(t->model),
		t->info, t->tries[JPKI_KEY_AUTH], t->tries[JPKI_KEY_SIGN]);
	return KZ_OK;
}

bool kz_token_still_present(kz_reader *r)
{
	kz_token *t = &r->token;
	if (!t->present)
		return false;
	if (r->backend->ops->present(t->link))
		return true;
	kz_token_leave(r, "the phone left the field");
	return false;
}

bool kz_token_cert_is_public(const kz_token *t, jpki_key key)
{
	/* On a card the user-authentication certificate is free to read; a
	 * phone keeps it behind the PIN. The signature certificate holds
	 * personal data and is always behind the password. */
	return key == JPKI_KEY_AUTH &&
	       (t->model == JPKI_MODEL_CARD || t->model == JPKI_MODEL_OLD_CARD);
}

kz_err kz_token_cert(kz_reader *r, jpki_key key, bool ca, const jpki_cert **out)
{
	kz_token *t = &r->token;
	kz_cached_cert *c = ca ? &t->ca[key] : &t->cert[key];
	if (c->loaded) {
		*out = &c->cert;
		return KZ_OK;
	}
	uint8_t *der = NULL;
	size_t len = 0;
	kz_err e = hold(r);
	if (e == KZ_OK)
		e = release(r, jpki_read_certificate(&t->card, ca ? jpki_ca_fid(key) : jpki_cert_fid(key),
						     &der, &len));
	if (e == KZ_OK) {
		e = jpki_cert_parse(der, len, &c->cert);
		if (e != KZ_OK)
			KZ_WARN("%s: the phone's certificate does not parse", r->name);
	}
	free(der);
	if (e != KZ_OK)
		return e;
	c->loaded = true;
	*out = &c->cert;
	return KZ_OK;
}

kz_err kz_token_verify(kz_reader *r, jpki_key key, const uint8_t *pin, size_t len)
{
	kz_token *t = &r->token;
	int tries = -1;
	kz_err e = hold(r);
	if (e != KZ_OK)
		return e;
	e = jpki_verify(&t->card, key, pin, len, &tries);
	if (e == KZ_OK)
		t->tries[key] = jpki_pin_max_tries(key);
	else if (e == KZ_E_PIN_INCORRECT || e == KZ_E_PIN_LOCKED)
		t->tries[key] = e == KZ_E_PIN_LOCKED ? 0 : tries;
	return release(r, e);
}

kz_err kz_token_reset_security(kz_reader *r)
{
	kz_token *t = &r->token;
	kz_err e = hold(r);
	if (e != KZ_OK)
		return e;
	jpki_card_forget(&t->card);
	return release(r, jpki_select_app(&t->card));
}

kz_err kz_token_change_pin(kz_reader *r, jpki_key key, const uint8_t *new_pin, size_t len)
{
	kz_err e = hold(r);
	if (e != KZ_OK)
		return e;
	return release(r, jpki_change_pin(&r->token.card, key, new_pin, len));
}

kz_err kz_token_sign(kz_reader *r, jpki_key key, const uint8_t *in, size_t in_len, uint8_t *sig,
		     size_t *sig_len)
{
	kz_err e = hold(r);
	if (e != KZ_OK)
		return e;
	e = jpki_sign(&r->token.card, key, in, in_len, sig, sig_len);
	if (e == KZ_E_SECURITY)
		r->token.logged_in[key] = false;
	return release(r, e);
}

void kz_token_logout(kz_reader *r, jpki_key key)
{
	kz_token *t = &r->token;
	t->logged_in[key] = false;
	/* Selecting the application again is the only way to make the card
	 * forget a verified PIN, and it forgets both: do it only when the
	 * other token is not in use. Otherwise the card keeps this PIN
	 * verified until the phone leaves, and the module refuses to use it. */
	if (t->present && !t->logged_in[1 - key]) {
		kz_err e = kz_token_reset_security(r);
		if (e != KZ_OK)
			KZ_DEBUG("%s: logout reset: %s", r->name, kz_err_str(e));
	}
}
