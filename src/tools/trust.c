#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tools/certinfo.h"
#include "tools/exitcode.h"
#include "tools/trust.h"

/* The whole file in a memory BIO: it is read twice, as PEM then as DER. */
static BIO *slurp(const char *path)
{
	BIO *in = BIO_new_file(path, "rb");
	BIO *mem = BIO_new(BIO_s_mem());
	char buf[4096];
	int n = 0;
	while (in != NULL && mem != NULL && (n = BIO_read(in, buf, sizeof(buf))) > 0) {
		if (BIO_write(mem, buf, n) != n)
			n = -1;
	}
	bool ok = in != NULL && mem != NULL && n >= 0;
	BIO_free(in);
	if (!ok) {
		BIO_free(mem);
		return NULL;
	}
	return mem;
}

static bool is_pem(BIO *mem)
{
	char *data = NULL;
	long len = BIO_get_mem_data(mem, &data);
	for (long i = 0; i + 10 <= len; i++) {
		if (memcmp(data + i, "-----BEGIN", 10) == 0)
			return true;
	}
	return false;
}

/* Adds every certificate (WANT_CRL: CRL) in PATH to the store; *COUNT
 * grows by how many. */
static int load_file(X509_STORE *store, const char *path, bool want_crl, size_t *count)
{
	const char *what = want_crl ? "CRL" : "CA certificate";
	BIO *mem = slurp(path);
	if (mem == NULL)
		return kc_fail(KC_ERROR, "cannot read the %s file %s", what, path);
	size_t before = *count;
	bool pem = is_pem(mem);
	for (bool more = true; more;) {
		X509 *cert = NULL;
		X509_CRL *crl = NULL;
		if (want_crl)
			crl = pem ? PEM_read_bio_X509_CRL(mem, NULL, NULL, NULL)
			          : d2i_X509_CRL_bio(mem, NULL);
		else
			cert = pem ? PEM_read_bio_X509(mem, NULL, NULL, NULL)
			           : d2i_X509_bio(mem, NULL);
		more = pem && (cert != NULL || crl != NULL);
		if ((cert != NULL && X509_STORE_add_cert(store, cert)) ||
		    (crl != NULL && X509_STORE_add_crl(store, crl)))
			(*count)++;
		X509_free(cert);
		X509_CRL_free(crl);
	}
	BIO_free(mem);
	/* PEM reading ends with a "no start line" error by design. */
	ERR_clear_error();
	if (*count == before)
		return kc_fail(KC_ERROR, "%s holds no %s (DER or PEM)", path, what);
	return KC_OK;
}

int kc_trust_load(kc_trust *t, char *const *ca, size_t nca, char *const *crl, size_t ncrl)
{
	memset(t, 0, sizeof(*t));
	t->store = X509_STORE_new();
	if (t->store == NULL)
		return kc_fail(KC_ERROR, "out of memory");
	int rc = KC_OK;
	for (size_t i = 0; rc == KC_OK && i < nca; i++)
		rc = load_file(t->store, ca[i], false, &t->cas);
	for (size_t i = 0; rc == KC_OK && i < ncrl; i++)
		rc = load_file(t->store, crl[i], true, &t->crls);
	return rc;
}

int kc_trust_check(const kc_trust *t, X509 *cert)
{
	char serial[80];
	kc_cert_serial(cert, serial, sizeof(serial));
	/* Both JPKI certificates are for digital signatures; a certificate
	 * that is not must not authenticate anybody. */
	if (!(X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE))
		return kc_fail(KC_UNTRUSTED,
		               "the certificate (serial %s) is not for digital "
		               "signatures",
		               serial);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	if (ctx == NULL || !X509_STORE_CTX_init(ctx, t->store, cert, NULL)) {
		X509_STORE_CTX_free(ctx);
		return kc_fail(KC_ERROR, "out of memory");
	}
	if (t->crls > 0)
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK);
	int ok = X509_verify_cert(ctx);
	int err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	if (ok == 1)
		return KC_OK;
	switch (err) {
	case X509_V_ERR_CERT_REVOKED:
		return kc_fail(KC_REVOKED,
		               "the certificate (serial %s) is revoked: its CA's CRL lists it",
		               serial);
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		return kc_fail(KC_UNTRUSTED,
		               "none of the CRLs given is from the certificate's CA, so its "
		               "revocation cannot be checked");
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return kc_fail(KC_UNTRUSTED, "the CRL given is not current (%s): get a fresh one",
		               X509_verify_cert_error_string(err));
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return kc_fail(KC_UNTRUSTED, "the certificate (serial %s) is not valid now: %s",
		               serial, X509_verify_cert_error_string(err));
	default:
		return kc_fail(KC_UNTRUSTED,
		               "the certificate (serial %s) does not chain to the CA certificates "
		               "given: %s",
		               serial, X509_verify_cert_error_string(err));
	}
}

void kc_trust_free(kc_trust *t)
{
	X509_STORE_free(t->store);
	t->store = NULL;
}
