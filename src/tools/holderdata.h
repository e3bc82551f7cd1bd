/* The holder data of a JPKI signature certificate: subjectAltName otherName
 * entries under 1.2.392.200149.8.5.5, UTF8String values. */
#ifndef KC_HOLDERDATA_H
#define KC_HOLDERDATA_H

#include <stdbool.h>

#include <openssl/x509.h>

typedef struct kc_holder {
	char *name;          /* .1 surname, U+3000, given name */
	char *name_subst;    /* .2 where substitute characters stand in the name */
	char *gender;        /* .3 a code: 1 male, 2 female */
	char *birth;         /* .4 EYYYYMMDD: era digit, then the Gregorian date */
	char *address;       /* .5 */
	char *address_subst; /* .6 where substitute characters stand in the address */
} kc_holder;

/* Decodes CERT's holder data into H (fields absent from it stay NULL).
 * False when it has none at all. */
bool kc_holder_decode(const X509 *cert, kc_holder *h);

void kc_holder_free(kc_holder *h);

/* "1985-04-12" from "319850412", and the era's name ("Showa"; "unknown"
 * for 0). False when RAW is not of that form. */
bool kc_holder_birth_iso(const char *raw, char iso[11], const char **era);

/* "male", "female", or NULL for a code this program does not know. */
const char *kc_holder_gender(const char *code);

/* Whether a substitute-character field says any are used: the field is
 * all zeros when none are. */
bool kc_holder_substituted(const char *flags);

#endif
