/* Slots: two per reader, ids stable for the life of the module. */
#ifndef KZ_PKCS11_SLOT_H
#define KZ_PKCS11_SLOT_H

#include "jpki/jpki.h"
#include "pkcs11/p11.h"
#include "pkcs11/token.h"

#define KZ_SLOT_ID(reader_index, key) ((CK_SLOT_ID)((reader_index)*JPKI_KEY_COUNT + (key)))

/* Ask the back ends what changed: new readers get slots, arrivals are
 * identified, departures forgotten. No APDU unless a phone arrived. */
void kz_slots_refresh(void);
/* C_Initialize: the readers present now get their slot ids, the same that
 * C_GetSlotList gives later, so that a relying party configured with a
 * slot id (SunPKCS11's slot=0) finds it at once. Readers only: no card is
 * connected to and no APDU sent. */
void kz_slots_enumerate(void);
/* The reader and key of a slot id, or NULL. */
kz_reader *kz_slot_find(CK_SLOT_ID id, jpki_key *key);
/* For calls about a slot's token: CKR_SLOT_ID_INVALID, CKR_TOKEN_NOT_PRESENT
 * (after a look at the back ends), or CKR_OK. */
CK_RV kz_slot_token_check(CK_SLOT_ID id);
void kz_slots_free(void);

CK_RV kz_slot_list(CK_BBOOL token_present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count);
CK_RV kz_slot_info(CK_SLOT_ID id, CK_SLOT_INFO_PTR info);
CK_RV kz_slot_token_info(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info);

/* Copy s into a blank-padded, unterminated PKCS#11 string field. */
void kz_pad(CK_UTF8CHAR *field, size_t size, const char *s);

#endif
