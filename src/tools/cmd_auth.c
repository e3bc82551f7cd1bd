/* kazashi auth: a kiosk's user authentication (利用者証明), end to end
 * through the module: tap, certificate, PIN, a signature over a fresh
 * challenge verified under the certificate's key, and the certificate
 * verified against the relying party's own CA certificates and CRLs. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tools/certinfo.h"
#include "tools/commands.h"
#include "tools/exitcode.h"
#include "tools/json.h"
#include "tools/token.h"
#include "tools/trust.h"

#define KC_CHALLENGE_LEN 32
#define KC_SIGNATURE_MAX 512 /* RSA-4096; JPKI's are 256 bytes */

static void report(const kc_opts *o, const kc_token *t, const kc_trust *trust, X509 *cert)
{
	if (o->json) {
		kc_json j;
		kc_json_begin(&j, stdout);
		kc_json_str(&j, "command", "auth");
		kc_json_str(&j, "result", "authenticated");
		kc_json_str(&j, "holder", t->slot.model);
		kc_json_str(&j, "reader", t->slot.reader);
		kc_cert_json(&j, cert);
		kc_json_bool(&j, "revocation_checked", trust->crls > 0);
		kc_json_end(&j);
		return;
	}
	printf("User authenticated.\n");
	printf("  holder:        %s on %s\n", t->slot.model, t->slot.reader);
	kc_cert_print(stdout, cert);
	if (trust->crls > 0)
		printf("  revocation:    not revoked (%zu CRL%s checked)\n", trust->crls,
		       trust->crls == 1 ? "" : "s");
	else
		printf("  revocation:    not checked (no --crl given)\n");
}

/* The user proves to hold the key: the phone signs bytes it has never
 * seen, and the signature must verify under the certificate's key. */
static int prove(kc_token *t, X509 *cert)
{
	unsigned char challenge[KC_CHALLENGE_LEN];
	unsigned char sig[KC_SIGNATURE_MAX];
	size_t sig_len = sizeof(sig);
	if (RAND_bytes(challenge, sizeof(challenge)) != 1)
		return kc_fail(KC_ERROR, "no random numbers for the challenge");
	kc_note("Signing a fresh challenge...");
	int rc = kc_token_sign(t, kc_kind_id(KC_KIND_AUTH), CKM_SHA256_RSA_PKCS, challenge,
	                       sizeof(challenge), sig, &sig_len);
	if (rc != KC_OK)
		return rc;
	if (!kc_cert_verify(cert, EVP_sha256(), challenge, sizeof(challenge), sig, sig_len))
		return kc_fail(KC_BAD_SIGNATURE, "the signature over the challenge does not verify "
		                                 "under the certificate: authentication failed");
	return KC_OK;
}

static int run(kc_module *m, const kc_opts *o, kc_trust *trust)
{
	kc_deadline d;
	kc_deadline_start(&d, o->timeout);
	kc_token t;
	X509 *cert = NULL;
	int rc = kc_token_tap(&t, m->f, KC_KIND_AUTH, false, &d);
	/* A card shows its certificate before the PIN: an untrusted or
	 * revoked one is then refused before a try can be spent on it. */
	if (rc == KC_OK)
		rc = kc_token_cert(&t, kc_kind_id(KC_KIND_AUTH), &cert);
	if (rc == KC_OK && cert != NULL)
		rc = kc_trust_check(trust, cert);
	if (rc == KC_OK)
		rc = kc_token_login(&t, o->pin_fd, &d);
	/* A phone shows it only now, after the PIN. */
	if (rc == KC_OK && cert == NULL) {
		rc = kc_token_cert(&t, kc_kind_id(KC_KIND_AUTH), &cert);
		if (rc == KC_OK && cert == NULL)
			rc = kc_fail(KC_ERROR, "the %s shows no user-authentication certificate",
			             kc_holder_noun(&t.slot));
		if (rc == KC_OK)
			rc = kc_trust_check(trust, cert);
	}
	if (rc == KC_OK)
		rc = prove(&t, cert);
	if (rc == KC_OK)
		report(o, &t, trust, cert);
	X509_free(cert);
	kc_token_close(&t);
	return rc;
}

int kc_cmd_auth(kc_module *m, const kc_opts *o)
{
	if (o->nca == 0)
		return kc_fail(KC_ERROR, "auth needs the JPKI user-authentication CA certificate: "
		                         "--ca FILE (see kazashi auth --help)");
	kc_trust trust;
	int rc = kc_trust_load(&trust, o->ca, o->nca, o->crl, o->ncrl);
	if (rc == KC_OK)
		rc = run(m, o, &trust);
	kc_trust_free(&trust);
	return rc;
}
