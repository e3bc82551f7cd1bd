/* Sessions and the session-state rules, written once here. */
#ifndef KZ_PKCS11_SESSION_H
#define KZ_PKCS11_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "jpki/jpki.h"
#include "jpki/pin.h"
#include "pkcs11/p11.h"
#include "pkcs11/token.h"

#define KZ_FIND_MAX 8 /* a token has four objects; room to spare */

typedef struct kz_find_op {
	bool active;
	CK_OBJECT_HANDLE found[KZ_FIND_MAX];
	size_t count, pos;
} kz_find_op;

typedef struct kz_sign_op {
	bool active;
	CK_MECHANISM_TYPE mechanism;
	bool updated; /* C_SignUpdate was called: C_Sign is refused */
	/* The signature password of this operation's CKU_CONTEXT_SPECIFIC
	 * login, for its signature alone (the card does not keep it
	 * verified); wiped with the operation. */
	uint8_t pin[JPKI_PIN_MAX_LEN];
	size_t pin_len;
	EVP_MD_CTX *md;                   /* hashing mechanisms; NULL for CKM_RSA_PKCS */
	uint8_t raw[JPKI_SIGN_INPUT_MAX]; /* CKM_RSA_PKCS input gathered so far */
	size_t raw_len;
	bool raw_too_long;
} kz_sign_op;

struct kz_session {
	CK_SESSION_HANDLE handle;
	CK_SLOT_ID slot;
	kz_reader *reader;
	jpki_key key;
	CK_FLAGS flags;
	unsigned long tap; /* the tap the session was opened in */
	kz_find_op find;
	kz_sign_op sign;
};
typedef struct kz_session kz_session;

/* What a function needs of the session state (PKCS#11 2.40, 5.1 and each
 * function's section). kz_session_get applies them, and nothing else
 * checks session states. */
typedef enum kz_rule {
	KZ_RULE_ANY,   /* any state */
	KZ_RULE_USER,  /* the user is logged in to the session's token */
	KZ_RULE_RW,    /* a read/write session: C_SetPIN, writes to token objects */
	KZ_RULE_RW_SO, /* "R/W SO Functions": C_InitPIN; JPKI has no SO, so never met */
} kz_rule;

/* The reader of a session, or NULL: what a call on the session owns. */
kz_reader *kz_session_reader(CK_SESSION_HANDLE h);
CK_RV kz_session_open(CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE_PTR out);
CK_RV kz_session_close(CK_SESSION_HANDLE h);
CK_RV kz_session_close_slot(CK_SLOT_ID slot);
/* Close every session of a reader's phone (it left). */
void kz_session_drop_reader(const kz_reader *r);
void kz_session_free_all(void);
/* Find a live session and apply a rule. A session whose phone left gets
 * CKR_DEVICE_REMOVED once (and is closed), then CKR_SESSION_HANDLE_INVALID. */
CK_RV kz_session_get(CK_SESSION_HANDLE h, kz_rule rule, kz_session **out);
CK_RV kz_session_info(const kz_session *s, CK_SESSION_INFO_PTR info);
size_t kz_session_count(const kz_reader *r, jpki_key key, bool rw_only);
/* End the signing and object-finding operations of every session of a
 * token: its user logged out, so they may not go on. */
void kz_session_end_operations(const kz_reader *r, jpki_key key);
bool kz_session_logged_in(const kz_session *s);

#endif
