#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <string.h>

#include "kazashi/kazashi.h"
#include "pkcs11/mech.h"
#include "pkcs11/module.h"
#include "pkcs11/object.h"
#include "pkcs11/rv.h"

/* Where an attribute's value comes from. */
typedef enum src {
	SRC_FALSE,
	SRC_TRUE,
	SRC_ULONG, /* the row's constant */
	SRC_EMPTY, /* present, zero length */
	SRC_LABEL,
	SRC_ID,
	SRC_PRIVATE,     /* CKA_PRIVATE: depends on model and key */
	SRC_ALWAYS_AUTH, /* signature key only */
	SRC_SENSITIVE,   /* exists, never revealed */
	SRC_MECHANISMS,
	SRC_CERT_BLOB, /* a jpki_blob of the certificate, at the row's offset */
	SRC_BITS,
	SRC_START_DATE,
	SRC_END_DATE,
} src;

typedef struct attr_row {
	CK_ATTRIBUTE_TYPE type;
	src source;
	CK_ULONG value; /* SRC_ULONG constant, or offsetof(jpki_cert, blob) */
} attr_row;

#define BLOB(field) SRC_CERT_BLOB, offsetof(jpki_cert, field)

/* The attribute tables are aligned by hand, one row a line where it helps
 * reading; the formatter would fold them. */
// clang-format off

/* Attributes every object has (PKCS#11 2.40, 4.4). */
#define COMMON_ROWS(cls)                                                                           \
	{CKA_CLASS, SRC_ULONG, cls}, {CKA_TOKEN, SRC_TRUE, 0}, {CKA_PRIVATE, SRC_PRIVATE, 0},      \
		{CKA_MODIFIABLE, SRC_FALSE, 0}, {CKA_COPYABLE, SRC_FALSE, 0},                      \
		{CKA_DESTROYABLE, SRC_FALSE, 0}, {CKA_LABEL, SRC_LABEL, 0}

#define KEY_ROWS(cls)                                                                              \
	COMMON_ROWS(cls), {CKA_KEY_TYPE, SRC_ULONG, CKK_RSA}, {CKA_ID, SRC_ID, 0},                 \
		{CKA_START_DATE, SRC_EMPTY, 0}, {CKA_END_DATE, SRC_EMPTY, 0},                      \
		{CKA_DERIVE, SRC_FALSE, 0}, {CKA_LOCAL, SRC_FALSE, 0},                             \
		{CKA_KEY_GEN_MECHANISM, SRC_ULONG, CK_UNAVAILABLE_INFORMATION},                    \
		{CKA_ALLOWED_MECHANISMS, SRC_MECHANISMS, 0}, {CKA_SUBJECT, BLOB(subject)},         \
		{CKA_MODULUS, BLOB(modulus)}, {CKA_MODULUS_BITS, SRC_BITS, 0},                     \
		{CKA_PUBLIC_EXPONENT, BLOB(exponent)}, {CKA_PUBLIC_KEY_INFO, BLOB(spki)}

static const attr_row private_key_rows[] = {
	KEY_ROWS(CKO_PRIVATE_KEY),
	{CKA_SENSITIVE, SRC_TRUE, 0},
	{CKA_ALWAYS_SENSITIVE, SRC_TRUE, 0},
	{CKA_EXTRACTABLE, SRC_FALSE, 0},
	{CKA_NEVER_EXTRACTABLE, SRC_TRUE, 0},
	{CKA_SIGN, SRC_TRUE, 0},
	{CKA_SIGN_RECOVER, SRC_FALSE, 0},
	{CKA_DECRYPT, SRC_FALSE, 0},
	{CKA_UNWRAP, SRC_FALSE, 0},
	{CKA_WRAP_WITH_TRUSTED, SRC_FALSE, 0},
	{CKA_ALWAYS_AUTHENTICATE, SRC_ALWAYS_AUTH, 0},
	{CKA_PRIVATE_EXPONENT, SRC_SENSITIVE, 0},
	{CKA_PRIME_1, SRC_SENSITIVE, 0},
	{CKA_PRIME_2, SRC_SENSITIVE, 0},
	{CKA_EXPONENT_1, SRC_SENSITIVE, 0},
	{CKA_EXPONENT_2, SRC_SENSITIVE, 0},
	{CKA_COEFFICIENT, SRC_SENSITIVE, 0},
};

static const attr_row public_key_rows[] = {
	KEY_ROWS(CKO_PUBLIC_KEY),
	/* The usages of the key pair, as relying parties pair keys by them
	 * (p11test: "if Sign is set, Verify should be set too"): the private
	 * key signs, so the public key verifies. The phone signs nothing else
	 * and decrypts nothing: no encryption, wrapping or recovery. */
	{CKA_ENCRYPT, SRC_FALSE, 0},
	{CKA_VERIFY, SRC_TRUE, 0},
	{CKA_VERIFY_RECOVER, SRC_FALSE, 0},
	{CKA_WRAP, SRC_FALSE, 0},
	{CKA_TRUSTED, SRC_FALSE, 0},
};

#define CERT_ROWS(category)                                                                        \
	COMMON_ROWS(CKO_CERTIFICATE), {CKA_CERTIFICATE_TYPE, SRC_ULONG, CKC_X_509},                \
		{CKA_TRUSTED, SRC_FALSE, 0}, {CKA_CERTIFICATE_CATEGORY, SRC_ULONG, category},      \
		{CKA_ID, SRC_ID, 0}, {CKA_SUBJECT, BLOB(subject)}, {CKA_ISSUER, BLOB(issuer)},     \
		{CKA_SERIAL_NUMBER, BLOB(serial)}, {CKA_VALUE, BLOB(der)},                         \
		{CKA_PUBLIC_KEY_INFO, BLOB(spki)}, {CKA_URL, SRC_EMPTY, 0},                        \
		{CKA_HASH_OF_SUBJECT_PUBLIC_KEY, SRC_EMPTY, 0},                                    \
		{CKA_HASH_OF_ISSUER_PUBLIC_KEY, SRC_EMPTY, 0},                                     \
		{CKA_JAVA_MIDP_SECURITY_DOMAIN, SRC_ULONG, 0}, {CKA_START_DATE, SRC_START_DATE, 0}, \
		{CKA_END_DATE, SRC_END_DATE, 0}

static const attr_row cert_rows[] = {CERT_ROWS(1)};    /* token user */
static const attr_row ca_cert_rows[] = {CERT_ROWS(2)}; /* authority */
// clang-format on

static const struct {
	const attr_row *rows;
	size_t count;
	const char *label[JPKI_KEY_COUNT];
	CK_BYTE id[JPKI_KEY_COUNT]; /* as OpenSC numbers them, for continuity */
} objects[KZ_OBJ_KINDS + 1] = {
    [KZ_OBJ_PRIVATE_KEY] = {private_key_rows,
                            KZ_ARRAY_LEN(private_key_rows),
                            {KAZASHI_LABEL_AUTH_KEY, KAZASHI_LABEL_SIGN_KEY},
                            {KAZASHI_ID_AUTH, KAZASHI_ID_SIGN}},
    [KZ_OBJ_PUBLIC_KEY] = {public_key_rows,
                           KZ_ARRAY_LEN(public_key_rows),
                           {KAZASHI_LABEL_AUTH_KEY, KAZASHI_LABEL_SIGN_KEY},
                           {KAZASHI_ID_AUTH, KAZASHI_ID_SIGN}},
    [KZ_OBJ_CERT] = {cert_rows,
                     KZ_ARRAY_LEN(cert_rows),
                     {KAZASHI_LABEL_AUTH_CERT, KAZASHI_LABEL_SIGN_CERT},
                     {KAZASHI_ID_AUTH, KAZASHI_ID_SIGN}},
    [KZ_OBJ_CA_CERT] = {ca_cert_rows,
                        KZ_ARRAY_LEN(ca_cert_rows),
                        {KAZASHI_LABEL_AUTH_CA, KAZASHI_LABEL_SIGN_CA},
                        {KAZASHI_ID_AUTH_CA, KAZASHI_ID_SIGN_CA}},
};

CK_OBJECT_HANDLE kz_object_handle(CK_SLOT_ID slot, kz_object_kind kind)
{
	/* Handles name the slot and the kind; they stay the same across taps
	 * and are never 0 (CK_INVALID_HANDLE). */
	return (CK_OBJECT_HANDLE)((slot + 1) << 4 | (CK_ULONG)kind);
}

bool kz_object_visible(const kz_session *s, kz_object_kind kind)
{
	switch (kind) {
	case KZ_OBJ_CA_CERT:
		/* Only with ca_certificates on. OpenSSH takes every public
		 * key and certificate object of a slot for a key of its user,
		 * whatever CKA_CERTIFICATE_CATEGORY says: ssh-keygen -D listed
		 * the CA's key next to the user's, ready to be pasted into
		 * authorized_keys (docs/openssh.md). A hidden object's handle
		 * is invalid too (kz_object_lookup), so that no CA certificate
		 * is read from the card unless the setting asks for it. */
		if (!kz_mod.config.ca_certificates)
			return false;
		/* When shown, the user-authentication CA certificate comes
		 * with the certificate whose chain it completes, no earlier:
		 * before login on a phone, ssh finding the CA certificate
		 * alone would offer the CA's key and never log in. The
		 * signature token is never ssh's, and signing software reads
		 * its CA certificate before asking for the password: that one
		 * stays public. */
		if (s->key == JPKI_KEY_SIGN)
			return true;
		/* fall through */
	case KZ_OBJ_CERT:
	case KZ_OBJ_PUBLIC_KEY:
		return kz_token_cert_is_public(&s->reader->token, s->key) ||
		       kz_session_logged_in(s);
	case KZ_OBJ_PRIVATE_KEY:
		return kz_session_logged_in(s);
	}
	return false;
}

CK_RV kz_object_lookup(const kz_session *s, CK_OBJECT_HANDLE h, kz_object_kind *kind)
{
	CK_ULONG k = h & 0xF;
	if ((h >> 4) != s->slot + 1 || k < 1 || k > KZ_OBJ_KINDS)
		return CKR_OBJECT_HANDLE_INVALID;
	if (!kz_object_visible(s, (kz_object_kind)k))
		return CKR_OBJECT_HANDLE_INVALID;
	*kind = (kz_object_kind)k;
	return CKR_OK;
}

/* Scratch room for values that are not stored anywhere. */
typedef union scratch {
	CK_BBOOL b;
	CK_ULONG ul;
	CK_BYTE id;
	CK_DATE date;
} scratch;

static void set_date(CK_DATE *d, const char yyyymmdd[9])
{
	memcpy(d->year, yyyymmdd, 4);
	memcpy(d->month, yyyymmdd + 4, 2);
	memcpy(d->day, yyyymmdd + 6, 2);
}

static CK_RV cert_of(kz_session *s, kz_object_kind kind, const jpki_cert **cert)
{
	return kz_rv(kz_token_cert(s->reader, s->key, kind == KZ_OBJ_CA_CERT, cert));
}

static const attr_row *find_row(kz_object_kind kind, CK_ATTRIBUTE_TYPE type)
{
	for (size_t i = 0; i < objects[kind].count; i++) {
		if (objects[kind].rows[i].type == type)
			return &objects[kind].rows[i];
	}
	return NULL;
}

/* The value of one attribute: a pointer into the certificate or scratch. */
static CK_RV value_of(kz_session *s, kz_object_kind kind, CK_ATTRIBUTE_TYPE type, scratch *sc,
                      const void **val, CK_ULONG *len)
{
	const attr_row *row = find_row(kind, type);
	if (row == NULL)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	const jpki_cert *cert = NULL;
	CK_RV rv = CKR_OK;
	*val = sc;
	switch (row->source) {
	case SRC_FALSE:
	case SRC_TRUE:
		sc->b = row->source == SRC_TRUE ? CK_TRUE : CK_FALSE;
		*len = sizeof(sc->b);
		break;
	case SRC_PRIVATE:
		/* Private exactly when hidden before login (kz_object_visible). */
		sc->b = kind == KZ_OBJ_PRIVATE_KEY ||
		        (!kz_token_cert_is_public(&s->reader->token, s->key) &&
		         !(kind == KZ_OBJ_CA_CERT && s->key == JPKI_KEY_SIGN));
		*len = sizeof(sc->b);
		break;
	case SRC_ALWAYS_AUTH:
		sc->b = s->key == JPKI_KEY_SIGN;
		*len = sizeof(sc->b);
		break;
	case SRC_ULONG:
		sc->ul = row->value;
		*len = sizeof(sc->ul);
		break;
	case SRC_EMPTY:
		*len = 0;
		break;
	case SRC_LABEL:
		*val = objects[kind].label[s->key];
		*len = strlen(objects[kind].label[s->key]);
		break;
	case SRC_ID:
		sc->id = objects[kind].id[s->key];
		*len = 1;
		break;
	case SRC_SENSITIVE:
		return CKR_ATTRIBUTE_SENSITIVE;
	case SRC_MECHANISMS:
		*val = kz_mech_types(len);
		*len *= sizeof(CK_MECHANISM_TYPE);
		break;
	case SRC_CERT_BLOB:
		if ((rv = cert_of(s, kind, &cert)) == CKR_OK) {
			const jpki_blob *b = (const jpki_blob *)((const char *)cert + row->value);
			*val = b->data;
			*len = b->len;
		}
		break;
	case SRC_BITS:
		if ((rv = cert_of(s, kind, &cert)) == CKR_OK) {
			sc->ul = cert->key_bits;
			*len = sizeof(sc->ul);
		}
		break;
	case SRC_START_DATE:
	case SRC_END_DATE:
		if ((rv = cert_of(s, kind, &cert)) == CKR_OK) {
			set_date(&sc->date, row->source == SRC_START_DATE ? cert->not_before
			                                                  : cert->not_after);
			*len = sizeof(sc->date);
		}
		break;
	}
	return rv;
}

CK_RV kz_object_get_attributes(kz_session *s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                               CK_ULONG count)
{
	kz_object_kind kind;
	CK_RV rv = kz_object_lookup(s, h, &kind);
	if (rv != CKR_OK)
		return rv;
	if (tmpl == NULL && count > 0)
		return CKR_ARGUMENTS_BAD;
	CK_RV result = CKR_OK;
	for (CK_ULONG i = 0; i < count; i++) {
		scratch sc;
		const void *val = NULL;
		CK_ULONG len = 0;
		rv = value_of(s, kind, tmpl[i].type, &sc, &val, &len);
		if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			result = rv;
			continue;
		}
		if (rv != CKR_OK)
			return rv; /* the phone failed us: nothing else is meaningful */
		if (tmpl[i].pValue == NULL) {
			tmpl[i].ulValueLen = len;
		} else if (tmpl[i].ulValueLen < len) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			result = CKR_BUFFER_TOO_SMALL;
		} else {
			if (len > 0)
				memcpy(tmpl[i].pValue, val, len);
			tmpl[i].ulValueLen = len;
		}
	}
	return result;
}

static bool needs_certificate(kz_object_kind kind, CK_ATTRIBUTE_TYPE type)
{
	const attr_row *row = find_row(kind, type);
	return row != NULL && (row->source == SRC_CERT_BLOB || row->source == SRC_BITS ||
	                       row->source == SRC_START_DATE || row->source == SRC_END_DATE);
}

CK_RV kz_object_matches(kz_session *s, kz_object_kind kind, const CK_ATTRIBUTE *tmpl,
                        CK_ULONG count, bool *match)
{
	*match = false;
	/* Attributes known without the certificate first: a template that
	 * fails on CKA_CLASS must not cost a certificate read on the air. */
	for (int pass = 0; pass < 2; pass++) {
		for (CK_ULONG i = 0; i < count; i++) {
			if (needs_certificate(kind, tmpl[i].type) != (pass == 1))
				continue;
			scratch sc;
			const void *val = NULL;
			CK_ULONG len = 0;
			CK_RV rv = value_of(s, kind, tmpl[i].type, &sc, &val, &len);
			if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE)
				return CKR_OK;
			if (rv != CKR_OK)
				return rv;
			if (len != tmpl[i].ulValueLen || (len > 0 && tmpl[i].pValue == NULL) ||
			    (len > 0 && memcmp(val, tmpl[i].pValue, len) != 0))
				return CKR_OK;
		}
	}
	*match = true;
	return CKR_OK;
}

CK_RV kz_object_size(kz_session *s, CK_OBJECT_HANDLE h, CK_ULONG_PTR size)
{
	kz_object_kind kind;
	CK_RV rv = kz_object_lookup(s, h, &kind);
	if (rv == CKR_OK && size == NULL)
		rv = CKR_ARGUMENTS_BAD;
	if (rv == CKR_OK)
		*size = CK_UNAVAILABLE_INFORMATION;
	return rv;
}

/* Whether a template asks for a token object (CKA_TOKEN = TRUE). */
static bool wants_token_object(const CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
	for (CK_ULONG i = 0; i < count; i++) {
		if (tmpl[i].type == CKA_TOKEN && tmpl[i].pValue != NULL &&
		    tmpl[i].ulValueLen == sizeof(CK_BBOOL) && *(const CK_BBOOL *)tmpl[i].pValue)
			return true;
	}
	return false;
}

CK_RV kz_object_refuse_create(const kz_session *s, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
                              const CK_OBJECT_HANDLE *out)
{
	if ((tmpl == NULL && count > 0) || out == NULL)
		return CKR_ARGUMENTS_BAD;
	/* The specification's order: a token object needs a read/write
	 * session before anything else is looked at. */
	if (wants_token_object(tmpl, count) && !(s->flags & CKF_RW_SESSION))
		return CKR_SESSION_READ_ONLY;
	return CKR_TOKEN_WRITE_PROTECTED;
}

CK_RV kz_object_refuse_change(const kz_session *s, CK_OBJECT_HANDLE h, const CK_ATTRIBUTE *tmpl,
                              CK_ULONG count)
{
	kz_object_kind kind;
	CK_RV rv = kz_object_lookup(s, h, &kind);
	if (rv != CKR_OK)
		return rv;
	if (tmpl == NULL && count > 0)
		return CKR_ARGUMENTS_BAD;
	return CKR_ACTION_PROHIBITED;
}
