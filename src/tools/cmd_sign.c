/* kazashi sign: a detached CMS signature over a file, with either key,
 * that `openssl cms -verify` (and any CMS verifier) accepts. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "tools/cms.h"
#include "tools/commands.h"
#include "tools/exitcode.h"
#include "tools/outfile.h"
#include "tools/token.h"

static int digest_file(const char *path, unsigned char digest[32])
{
	FILE *in = fopen(path, "rb");
	if (in == NULL)
		return kc_fail(KC_ERROR, "cannot read %s: %s", path, strerror(errno));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	unsigned char buf[16384];
	size_t n;
	while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = EVP_DigestUpdate(ctx, buf, n);
	ok = ok && !ferror(in) && EVP_DigestFinal_ex(ctx, digest, NULL);
	int err = errno;
	fclose(in);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return kc_fail(KC_ERROR, "cannot read %s: %s", path, strerror(err));
	return KC_OK;
}

typedef struct signer {
	kc_token *token;
	CK_BYTE id;
} signer;

static int token_signer(void *arg, const unsigned char *tbs, size_t tbs_len, unsigned char *sig,
                        size_t *sig_len)
{
	signer *s = arg;
	kc_note("Signing on the %s...", kc_holder_noun(&s->token->slot));
	return kc_token_sign(s->token, s->id, CKM_SHA256_RSA_PKCS, tbs, tbs_len, sig, sig_len);
}

static int sign(kc_module *m, const kc_opts *o, const unsigned char digest[32],
                CMS_ContentInfo **cms)
{
	kc_deadline d;
	kc_deadline_start(&d, o->timeout);
	kc_token t;
	X509 *cert = NULL;
	CK_BYTE id = kc_kind_id(o->key);
	int rc = kc_token_tap(&t, m->f, o->key, false, &d);
	if (rc == KC_OK)
		rc = kc_token_login(&t, o->pin_fd, &d);
	if (rc == KC_OK)
		rc = kc_token_cert(&t, id, &cert);
	if (rc == KC_OK && cert == NULL)
		rc = kc_fail(KC_ERROR, "the %s shows no certificate for the %s",
		             kc_holder_noun(&t.slot), kc_kind_secret(o->key));
	signer s = {&t, id};
	if (rc == KC_OK)
		rc = kc_cms_sign_detached(cert, digest, token_signer, &s, cms);
	X509_free(cert);
	kc_token_close(&t);
	return rc;
}

int kc_cmd_sign(kc_module *m, const kc_opts *o)
{
	if (!o->key_set)
		return kc_fail(KC_ERROR, "sign needs --key auth or --key sign (see kazashi sign "
		                         "--help)");
	const char *file = o->args[0];
	char *out_path = NULL;
	if (o->out == NULL) {
		size_t n = strlen(file) + sizeof(".p7s");
		out_path = malloc(n);
		if (out_path == NULL)
			return kc_fail(KC_ERROR, "out of memory");
		snprintf(out_path, n, "%s.p7s", file);
	}
	const char *path = o->out != NULL ? o->out : out_path;
	bool to_stdout = strcmp(path, "-") == 0;
	unsigned char digest[32];
	int rc = digest_file(file, digest);
	/* The output is opened before the phone is asked: a signature must
	 * not be spent on a file that cannot be written. It is a new file
	 * until the signature is whole (tools/outfile.h): a failure leaves an
	 * existing signature file as it was. */
	kc_outfile out = {.f = NULL};
	if (rc == KC_OK)
		rc = kc_outfile_open(&out, path);
	CMS_ContentInfo *cms = NULL;
	if (rc == KC_OK)
		rc = sign(m, o, digest, &cms);
	if (rc == KC_OK) {
		BIO *bio = BIO_new_fp(out.f, BIO_NOCLOSE);
		int ok =
		    bio != NULL && (o->pem ? PEM_write_bio_CMS(bio, cms) : i2d_CMS_bio(bio, cms));
		if (!ok || BIO_flush(bio) != 1)
			rc = kc_fail(KC_ERROR, "cannot write %s", path);
		BIO_free(bio);
	}
	if (rc == KC_OK)
		rc = kc_outfile_commit(&out);
	else
		kc_outfile_abort(&out);
	if (rc == KC_OK && !to_stdout)
		printf("%s\n", path);
	CMS_ContentInfo_free(cms);
	free(out_path);
	ERR_clear_error();
	return rc;
}
