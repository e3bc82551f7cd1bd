#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "pkcs11/mech.h"
#include "pkcs11/object.h"
#include "pkcs11/rv.h"
#include "pkcs11/sign.h"
#include "util/log.h"

void kz_sign_reset(kz_sign_op *op)
{
	EVP_MD_CTX_free(op->md);
	OPENSSL_cleanse(op, sizeof(*op));
}

CK_RV kz_sign_init(kz_session *s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
	if (mech == NULL)
		return CKR_ARGUMENTS_BAD;
	if (s->sign.active)
		return CKR_OPERATION_ACTIVE;
	const kz_mech *m = kz_mech_find(mech->mechanism);
	if (m == NULL)
		return CKR_MECHANISM_INVALID;
	if (mech->pParameter != NULL || mech->ulParameterLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	if (key == kz_object_handle(s->slot, KZ_OBJ_PRIVATE_KEY) && !kz_session_logged_in(s))
		return CKR_USER_NOT_LOGGED_IN;
	kz_object_kind kind;
	if (kz_object_lookup(s, key, &kind) != CKR_OK)
		return CKR_KEY_HANDLE_INVALID;
	if (kind == KZ_OBJ_PUBLIC_KEY)
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	if (kind != KZ_OBJ_PRIVATE_KEY)
		return CKR_KEY_HANDLE_INVALID;
	kz_sign_op op = {.active = true, .mechanism = m->type};
	if (m->digest != NULL) {
		EVP_MD *md = EVP_MD_fetch(NULL, m->digest, NULL);
		op.md = EVP_MD_CTX_new();
		if (md == NULL || op.md == NULL || !EVP_DigestInit_ex(op.md, md, NULL)) {
			EVP_MD_free(md);
			EVP_MD_CTX_free(op.md);
			return CKR_HOST_MEMORY;
		}
		EVP_MD_free(md);
	}
	s->sign = op;
	return CKR_OK;
}

static CK_RV gather(kz_sign_op *op, const CK_BYTE *data, CK_ULONG len)
{
	if (data == NULL && len > 0)
		return CKR_ARGUMENTS_BAD;
	if (op->md != NULL)
		return EVP_DigestUpdate(op->md, data, len) ? CKR_OK : CKR_GENERAL_ERROR;
	if (len > sizeof(op->raw) - op->raw_len) {
		op->raw_too_long = true;
		return CKR_OK;
	}
	if (len > 0)
		memcpy(op->raw + op->raw_len, data, len);
	op->raw_len += len;
	return CKR_OK;
}

/* The bytes the card signs: the caller's input for CKM_RSA_PKCS, else a
 * DER DigestInfo of the host-side hash, built by OpenSSL. */
static CK_RV card_input(kz_sign_op *op, uint8_t *out, size_t *out_len)
{
	if (op->md == NULL) {
		if (op->raw_too_long || op->raw_len == 0)
			return CKR_DATA_LEN_RANGE;
		memcpy(out, op->raw, op->raw_len);
		*out_len = op->raw_len;
		return CKR_OK;
	}
	uint8_t hash[EVP_MAX_MD_SIZE];
	unsigned hash_len = 0;
	if (!EVP_DigestFinal_ex(op->md, hash, &hash_len))
		return CKR_GENERAL_ERROR;
	CK_RV rv = CKR_HOST_MEMORY;
	X509_SIG *di = X509_SIG_new();
	X509_ALGOR *alg = NULL;
	ASN1_OCTET_STRING *digest = NULL;
	if (di != NULL) {
		X509_SIG_getm(di, &alg, &digest);
		int nid = EVP_MD_get_type(EVP_MD_CTX_get0_md(op->md));
		if (X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_NULL, NULL) &&
		    ASN1_OCTET_STRING_set(digest, hash, (int)hash_len) &&
		    i2d_X509_SIG(di, NULL) <= JPKI_SIGN_INPUT_MAX) {
			uint8_t *p = out;
			*out_len = (size_t)i2d_X509_SIG(di, &p);
			rv = CKR_OK;
		}
	}
	X509_SIG_free(di);
	return rv;
}

/* A signature leaves the module only if it has the key's length and, when
 * the certificate is already known, verifies under its key: a lying phone
 * must not make a relying party send garbage. */
static CK_RV check_signature(kz_session *s, const uint8_t *in, size_t in_len, const uint8_t *sig,
                             size_t sig_len)
{
	const kz_cached_cert *c = &s->reader->token.cert[s->key];
	if (!c->loaded)
		return sig_len == JPKI_SIGNATURE_LEN ? CKR_OK : CKR_DEVICE_ERROR;
	if (sig_len * 8 != c->cert.key_bits ||
	    jpki_cert_verify_raw(&c->cert, in, in_len, sig, sig_len) != KZ_OK) {
		KZ_ERROR("%s: the phone's signature does not verify under its certificate",
		         s->reader->name);
		return CKR_DEVICE_ERROR;
	}
	return CKR_OK;
}

/* The signature key wants its password for each signature
 * (CKA_ALWAYS_AUTHENTICATE): this operation's context-specific login, or
 * else the C_Login just before it (kz_token_arm). Until then the operation
 * waits. */
static bool authorised(const kz_session *s)
{
	return s->key != JPKI_KEY_SIGN || s->sign.pin_len > 0 || s->reader->token.sign_pin_len > 0;
}

/* The card signs; for the signature key, with the password this signature
 * was authorised by, which is spent by it. */
static CK_RV card_sign(kz_session *s, const uint8_t *in, size_t in_len, uint8_t *out,
                       size_t *out_len)
{
	kz_reader *r = s->reader;
	kz_token *t = &r->token;
	const uint8_t *pin = NULL;
	size_t pin_len = 0;
	if (s->key == JPKI_KEY_SIGN) {
		pin = s->sign.pin_len > 0 ? s->sign.pin : t->sign_pin;
		pin_len = s->sign.pin_len > 0 ? s->sign.pin_len : t->sign_pin_len;
	}
	jpki_key key = s->key;
	kz_err e = kz_token_sign(r, key, pin, pin_len, in, in_len, out, out_len);
	if (e == KZ_E_REMOVED)
		return kz_rv(e); /* s and its operation went with the phone */
	if (key == JPKI_KEY_SIGN) {
		kz_token_disarm(r);
		OPENSSL_cleanse(s->sign.pin, sizeof s->sign.pin);
		s->sign.pin_len = 0;
	}
	return kz_rv(e);
}

/* The end of C_Sign and C_SignFinal: length query, buffer check, the
 * always-authenticate rule, then the card. */
static CK_RV finish(kz_session *s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	kz_sign_op *op = &s->sign;
	if (sig_len == NULL) {
		kz_sign_reset(op);
		return CKR_ARGUMENTS_BAD;
	}
	if (sig == NULL) {
		*sig_len = JPKI_SIGNATURE_LEN;
		return CKR_OK;
	}
	if (*sig_len < JPKI_SIGNATURE_LEN) {
		*sig_len = JPKI_SIGNATURE_LEN;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (!authorised(s))
		return CKR_USER_NOT_LOGGED_IN;
	uint8_t in[JPKI_SIGN_INPUT_MAX];
	size_t in_len = 0;
	CK_RV rv = card_input(op, in, &in_len);
	if (rv == CKR_OK) {
		uint8_t out[JPKI_SIGNATURE_LEN];
		size_t out_len = sizeof(out);
		rv = card_sign(s, in, in_len, out, &out_len);
		if (rv == CKR_OK)
			rv = check_signature(s, in, in_len, out, out_len);
		if (rv == CKR_OK) {
			memcpy(sig, out, out_len);
			*sig_len = out_len;
		}
	}
	/* s->sign may be gone with the session if the phone left. */
	if (rv != CKR_DEVICE_REMOVED)
		kz_sign_reset(op);
	return rv;
}

CK_RV kz_sign(kz_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	kz_sign_op *op = &s->sign;
	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (op->updated)
		return CKR_OPERATION_ACTIVE;
	if (data == NULL && len > 0) {
		kz_sign_reset(op);
		return CKR_ARGUMENTS_BAD;
	}
	/* A length query must leave the operation as it was: gather only
	 * when the signature will really be made. */
	if (sig == NULL || sig_len == NULL || *sig_len < JPKI_SIGNATURE_LEN || !authorised(s))
		return finish(s, sig, sig_len);
	CK_RV rv = gather(op, data, len);
	if (rv != CKR_OK) {
		kz_sign_reset(op);
		return rv;
	}
	return finish(s, sig, sig_len);
}

CK_RV kz_sign_update(kz_session *s, CK_BYTE_PTR data, CK_ULONG len)
{
	kz_sign_op *op = &s->sign;
	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	op->updated = true;
	CK_RV rv = gather(op, data, len);
	if (rv != CKR_OK)
		kz_sign_reset(op);
	return rv;
}

CK_RV kz_sign_final(kz_session *s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	if (!s->sign.active)
		return CKR_OPERATION_NOT_INITIALIZED;
	return finish(s, sig, sig_len);
}
