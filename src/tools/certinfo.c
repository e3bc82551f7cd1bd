#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "tools/certinfo.h"

void kc_cert_name(const X509_NAME *name, char *buf, size_t size)
{
	/* One line, most significant first, UTF-8 kept as it is (not \XX),
	 * control characters escaped so that a name cannot rewrite a
	 * terminal or forge an output line. */
	unsigned long flags = (XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ & ~ASN1_STRFLGS_ESC_MSB) |
	                      ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_ESC_CTRL;
	BIO *mem = BIO_new(BIO_s_mem());
	buf[0] = '\0';
	if (mem == NULL)
		return;
	if (X509_NAME_print_ex(mem, name, 0, flags) >= 0) {
		char *data = NULL;
		long len = BIO_get_mem_data(mem, &data);
		size_t n = len > 0 ? (size_t)len : 0;
		if (n >= size)
			n = size - 1;
		memcpy(buf, data, n);
		buf[n] = '\0';
	}
	BIO_free(mem);
}

void kc_cert_serial(const X509 *cert, char *buf, size_t size)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	snprintf(buf, size, "%s", hex != NULL ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
}

void kc_cert_time(const ASN1_TIME *t, char *buf, size_t size)
{
	struct tm tm;
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
		snprintf(buf, size, "?");
		return;
	}
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Field values of one certificate, formatted once for both outputs. */
typedef struct fields {
	char subject[512], issuer[512], serial[80], not_before[32], not_after[32];
} fields;

static void describe(const X509 *cert, fields *f)
{
	kc_cert_name(X509_get_subject_name(cert), f->subject, sizeof(f->subject));
	kc_cert_name(X509_get_issuer_name(cert), f->issuer, sizeof(f->issuer));
	kc_cert_serial(cert, f->serial, sizeof(f->serial));
	kc_cert_time(X509_get0_notBefore(cert), f->not_before, sizeof(f->not_before));
	kc_cert_time(X509_get0_notAfter(cert), f->not_after, sizeof(f->not_after));
}

void kc_cert_print(FILE *out, const X509 *cert)
{
	fields f;
	describe(cert, &f);
	fprintf(out, "  subject:       %s\n", f.subject);
	fprintf(out, "  serial:        %s\n", f.serial);
	fprintf(out, "  valid:         %s to %s\n", f.not_before, f.not_after);
	fprintf(out, "  issuer:        %s\n", f.issuer);
}

void kc_cert_json(kc_json *j, const X509 *cert)
{
	fields f;
	describe(cert, &f);
	kc_json_str(j, "subject", f.subject);
	kc_json_str(j, "serial", f.serial);
	kc_json_str(j, "not_before", f.not_before);
	kc_json_str(j, "not_after", f.not_after);
	kc_json_str(j, "issuer", f.issuer);
}

bool kc_cert_verify(const X509 *cert, const EVP_MD *md, const unsigned char *data, size_t len,
                    const unsigned char *sig, size_t sig_len)
{
	EVP_PKEY *key = X509_get0_pubkey(cert);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = key != NULL && ctx != NULL &&
	          EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
	          EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}
