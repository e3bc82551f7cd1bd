#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "kazashi/kazashi.h"
#include "tools/holderdata.h"

/* The value of an otherName as a C string, if it is a UTF8String without
 * embedded NULs (which could hide the rest of a name). */
static char *utf8_value(const ASN1_TYPE *value)
{
	if (value == NULL || value->type != V_ASN1_UTF8STRING)
		return NULL;
	const ASN1_UTF8STRING *s = value->value.utf8string;
	int len = ASN1_STRING_length(s);
	const unsigned char *data = ASN1_STRING_get0_data(s);
	if (len < 0 || memchr(data, '\0', (size_t)len) != NULL)
		return NULL;
	char *out = malloc((size_t)len + 1);
	if (out != NULL) {
		memcpy(out, data, (size_t)len);
		out[len] = '\0';
	}
	return out;
}

static char **field(kc_holder *h, const char *oid)
{
	const struct {
		const char *oid;
		char **slot;
	} fields[] = {
	    {KAZASHI_HOLDER_OID_NAME, &h->name},
	    {KAZASHI_HOLDER_OID_NAME_SUBST, &h->name_subst},
	    {KAZASHI_HOLDER_OID_GENDER, &h->gender},
	    {KAZASHI_HOLDER_OID_BIRTH, &h->birth},
	    {KAZASHI_HOLDER_OID_ADDRESS, &h->address},
	    {KAZASHI_HOLDER_OID_ADDRESS_SUBST, &h->address_subst},
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strcmp(oid, fields[i].oid) == 0)
			return fields[i].slot;
	}
	return NULL;
}

bool kc_holder_decode(const X509 *cert, kc_holder *h)
{
	memset(h, 0, sizeof(*h));
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	bool any = false;
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type != GEN_OTHERNAME)
			continue;
		char oid[80];
		if (OBJ_obj2txt(oid, sizeof(oid), gn->d.otherName->type_id, 1) <= 0)
			continue;
		char **slot = field(h, oid);
		if (slot == NULL || *slot != NULL)
			continue; /* not holder data, or a repeat: the first counts */
		*slot = utf8_value(gn->d.otherName->value);
		any = any || *slot != NULL;
	}
	GENERAL_NAMES_free(names);
	return any;
}

void kc_holder_free(kc_holder *h)
{
	free(h->name);
	free(h->name_subst);
	free(h->gender);
	free(h->birth);
	free(h->address);
	free(h->address_subst);
	memset(h, 0, sizeof(*h));
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

static int number(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

bool kc_holder_birth_iso(const char *raw, char iso[11], const char **era)
{
	/* The era digit only names the era the date falls in; the eight
	 * digits after it are the Gregorian date itself, not a year of the
	 * era (319850412 is 1985-04-12, Showa 60). */
	static const char *const eras[] = {"unknown", "Meiji",  "Taisho",
	                                   "Showa",   "Heisei", "Reiwa"};
	if (raw == NULL || strlen(raw) != 9 || !digits(raw, 9))
		return false;
	int e = raw[0] - '0';
	int month = number(raw + 5, 2), day = number(raw + 7, 2);
	if (e > 5 || month < 1 || month > 12 || day < 1 || day > 31)
		return false;
	memcpy(iso, raw + 1, 4);
	iso[4] = '-';
	memcpy(iso + 5, raw + 5, 2);
	iso[7] = '-';
	memcpy(iso + 8, raw + 7, 2);
	iso[10] = '\0';
	*era = eras[e];
	return true;
}

const char *kc_holder_gender(const char *code)
{
	if (code == NULL)
		return NULL;
	if (strcmp(code, "1") == 0)
		return "male";
	if (strcmp(code, "2") == 0)
		return "female";
	return NULL;
}

bool kc_holder_substituted(const char *flags)
{
	if (flags == NULL)
		return false;
	for (const char *p = flags; *p != '\0'; p++) {
		if (*p != '0')
			return true;
	}
	return false;
}
