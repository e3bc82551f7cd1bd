/* kazashi holder: the signature certificate's holder data (name, date of
 * birth, gender, address), readable only after the signature password. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include "tools/certinfo.h"
#include "tools/commands.h"
#include "tools/exitcode.h"
#include "tools/holderdata.h"
#include "tools/json.h"
#include "tools/token.h"
#include "tools/trust.h"

/* Holder data on a terminal: control characters could rewrite what the
 * screen shows, so they are shown as '?'. */
static void print_text(const char *label, const char *value)
{
	printf("  %-22s ", label);
	if (value == NULL) {
		puts("(absent)");
		return;
	}
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++)
		putchar(*p < 0x20 || *p == 0x7F ? '?' : *p);
	putchar('\n');
}

static void print_human(const kc_token *t, const kc_holder *h, X509 *cert, const kc_trust *trust)
{
	char iso[11], line[96];
	const char *era = NULL;
	printf("Signature certificate holder (%s on %s):\n", t->slot.model, t->slot.reader);
	print_text("name:", h->name);
	if (kc_holder_birth_iso(h->birth, iso, &era)) {
		snprintf(line, sizeof(line), "%s (%s era)", iso, era);
		print_text("date of birth:", line);
	} else {
		print_text("date of birth:", h->birth);
	}
	const char *gender = kc_holder_gender(h->gender);
	if (gender == NULL && h->gender != NULL) {
		snprintf(line, sizeof(line), "code %.40s", h->gender);
		gender = line;
	}
	print_text("gender:", gender != NULL ? gender : h->gender);
	print_text("address:", h->address);
	printf("  %-22s name: %s, address: %s\n",
	       "substitute characters:", kc_holder_substituted(h->name_subst) ? "used" : "none",
	       kc_holder_substituted(h->address_subst) ? "used" : "none");
	printf("Certificate:\n");
	kc_cert_print(stdout, cert);
	if (trust->cas == 0)
		printf("  verified:      no (no --ca given): the data is as the %s gave it\n",
		       kc_holder_noun(&t->slot));
	else
		printf("  verified:      chains to the CA given%s\n",
		       trust->crls > 0 ? ", not revoked" : "");
}

static void print_json(const kc_token *t, const kc_holder *h, X509 *cert, bool verified)
{
	char iso[11];
	const char *era = NULL;
	bool birth_ok = kc_holder_birth_iso(h->birth, iso, &era);
	kc_json j;
	kc_json_begin(&j, stdout);
	kc_json_str(&j, "command", "holder");
	kc_json_str(&j, "result", "ok");
	kc_json_str(&j, "holder", t->slot.model);
	kc_json_str(&j, "reader", t->slot.reader);
	kc_json_str(&j, "name", h->name);
	kc_json_str(&j, "date_of_birth", birth_ok ? iso : NULL);
	kc_json_str(&j, "date_of_birth_raw", h->birth);
	kc_json_str(&j, "era", birth_ok ? era : NULL);
	kc_json_str(&j, "gender", kc_holder_gender(h->gender));
	kc_json_str(&j, "gender_code", h->gender);
	kc_json_str(&j, "address", h->address);
	kc_json_str(&j, "name_substitutes", h->name_subst);
	kc_json_bool(&j, "name_has_substitutes", kc_holder_substituted(h->name_subst));
	kc_json_str(&j, "address_substitutes", h->address_subst);
	kc_json_bool(&j, "address_has_substitutes", kc_holder_substituted(h->address_subst));
	kc_json_bool(&j, "certificate_verified", verified);
	kc_json_object(&j, "certificate");
	kc_cert_json(&j, cert);
	kc_json_close(&j);
	kc_json_end(&j);
}

static int run(kc_module *m, const kc_opts *o, const kc_trust *trust)
{
	kc_deadline d;
	kc_deadline_start(&d, o->timeout);
	kc_token t;
	X509 *cert = NULL;
	int rc = kc_token_tap(&t, m->f, KC_KIND_SIGN, false, &d);
	if (rc == KC_OK)
		rc = kc_token_login(&t, o->pin_fd, &d);
	if (rc == KC_OK)
		rc = kc_token_cert(&t, kc_kind_id(KC_KIND_SIGN), &cert);
	if (rc == KC_OK && cert == NULL)
		rc = kc_fail(KC_ERROR, "the %s shows no signature certificate",
		             kc_holder_noun(&t.slot));
	/* Without CA certificates the data is shown as the phone gave it;
	 * with them, only if the certificate is genuine and not revoked. */
	if (rc == KC_OK && trust->cas > 0)
		rc = kc_trust_check(trust, cert);
	kc_holder h;
	memset(&h, 0, sizeof(h));
	if (rc == KC_OK && !kc_holder_decode(cert, &h))
		rc = kc_fail(KC_ERROR, "the signature certificate carries no holder data");
	if (rc == KC_OK && o->json)
		print_json(&t, &h, cert, trust->cas > 0);
	else if (rc == KC_OK)
		print_human(&t, &h, cert, trust);
	kc_holder_free(&h);
	X509_free(cert);
	kc_token_close(&t);
	return rc;
}

int kc_cmd_holder(kc_module *m, const kc_opts *o)
{
	if (o->ncrl > 0 && o->nca == 0)
		return kc_fail(KC_ERROR,
		               "holder: --crl needs --ca, the CA the CRL is checked with");
	kc_trust trust;
	int rc = kc_trust_load(&trust, o->ca, o->nca, o->crl, o->ncrl);
	if (rc == KC_OK)
		rc = run(m, o, &trust);
	kc_trust_free(&trust);
	return rc;
}
