/* The module's slots as kazashi presents them: one reader holds two slots,
 * one per JPKI key, told apart by what the module calls them. */
#ifndef KC_SLOTS_H
#define KC_SLOTS_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

typedef enum kc_kind {
	KC_KIND_AUTH,  /* "User Authentication": 4-digit PIN, 3 tries */
	KC_KIND_SIGN,  /* "Digital Signature": 6-16 A-Z0-9 password, 5 tries */
	KC_KIND_OTHER, /* a slot of some other module; also "any" when waiting */
} kc_kind;

typedef struct kc_slot {
	CK_SLOT_ID id;
	kc_kind kind;
	char reader[65]; /* slot description without the key's suffix */
	bool present;
	char model[17]; /* token model: "My Number card", "Android", "iPhone" */
	CK_FLAGS flags; /* token flags (PIN tries) when present */
} kc_slot;

/* Describes slot ID. */
CK_RV kc_slot_describe(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID id, kc_slot *out);

/* All slots (PRESENT_ONLY: with a token), described; *OUT is malloc'ed. */
CK_RV kc_slots_list(CK_FUNCTION_LIST_PTR f, bool present_only, kc_slot **out, size_t *n);

/* "user-authentication PIN" / "signature password". */
const char *kc_kind_secret(kc_kind kind);

/* The CKA_ID of the key and certificate, and of the CA certificate. */
CK_BYTE kc_kind_id(kc_kind kind);

/* The tries the token flags allow to infer: PKCS#11 tells only "some used",
 * "one left" and "none left", so a range. */
void kc_tries(kc_kind kind, CK_FLAGS flags, int *min, int *max);

/* "3 tries left", "2 to 4 tries left", "1 try left", "blocked". */
void kc_tries_text(kc_kind kind, CK_FLAGS flags, char *buf, size_t size);

/* "card" for a My Number card, "phone" otherwise: the word messages use. */
const char *kc_holder_noun(const kc_slot *s);

#endif
