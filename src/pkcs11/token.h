/* One phone (or card) in one reader: what was learnt of it during this tap,
 * and the JPKI operations the PKCS#11 calls need, each wrapped in a reader
 * transaction. A phone that leaves mid-operation is noticed here, once. */
#ifndef KZ_PKCS11_TOKEN_H
#define KZ_PKCS11_TOKEN_H

#include <pthread.h>
#include <stdbool.h>

#include "jpki/cert.h"
#include "jpki/jpki.h"
#include "jpki/pin.h"
#include "pkcs11/lock.h"
#include "reader/reader.h"

typedef struct kz_cached_cert {
	jpki_cert cert;
	bool loaded;
} kz_cached_cert;

typedef struct kz_token {
	bool present;              /* a JPKI application answers */
	unsigned long tap;         /* counts taps in this reader; sessions remember theirs */
	unsigned long event_count; /* the reader's event count when we connected */
	/* We looked at this insertion already: not probed again until the
	 * reader shows another (a new event count; back ends make the count
	 * change when pcscd restarts), or the reader goes away. */
	bool tried;
	/* CK_TOKEN_INFO.serialNumber of this tap, both tokens alike: random,
	 * drawn at arrival (nothing readable before login tells phones
	 * apart), so two people's phones never share one, and one tap keeps
	 * its own until the phone leaves. 16 hex digits. */
	char serial[17];
	kz_link *link;
	jpki_card card;
	jpki_model model;
	char info[JPKI_TOKEN_INFO_LEN + 1];
	int tries[JPKI_KEY_COUNT];       /* -1 unknown */
	bool tries_read[JPKI_KEY_COUNT]; /* asked of the card in this tap */
	bool logged_in[JPKI_KEY_COUNT];
	/* This process sent a PIN since it last selected the application:
	 * only then may the card hold a PIN of ours verified, and only then
	 * do logout and finalisation select the application again (which
	 * logs every program out). A process that never sent a PIN never
	 * touches the card's security state. */
	bool pin_sent;
	/* lock_login: the PC/SC transaction of the user-authentication login
	 * is held from C_Login until logout, so that no other program can
	 * use the verified PIN meanwhile. */
	bool login_locked;
	/* forget_held ended the user-authentication login during this hold;
	 * release() tells the session layer (kz_mod.on_login_ended) once the
	 * module lock is back. */
	bool auth_login_ended;
	/* The signature password of the last C_Login(CKU_USER), kept only
	 * until the first signature after it, which it authorises (a
	 * relying party such as Java's SunPKCS11 never does the
	 * context-specific login); wiped at that signature, at logout and
	 * when the phone leaves. The card never keeps it verified. */
	uint8_t sign_pin[JPKI_PIN_MAX_LEN];
	size_t sign_pin_len;
	kz_cached_cert cert[JPKI_KEY_COUNT];
	kz_cached_cert ca[JPKI_KEY_COUNT];
	/* Whether extended-length READ BINARY works in this reader, as learnt
	 * from each model of phone (jpki_card.extended values), kept across
	 * taps: a refusal or a link failure costs one exchange per reader and
	 * model, not one a tap. Indexed by jpki_model. */
	int extended[JPKI_MODEL_IPHONE + 1];
} kz_token;

/* One reader: two PKCS#11 slots, one per key.
 *
 * Ownership (module.h, kz_reader_take): one thread at a time owns a reader
 * for a whole call about its token. The owner alone reads or writes the
 * token (but for `present` and `tap`, written under the module lock too,
 * which the slot list and C_OpenSession read) and does card I/O; during a
 * card exchange it lets go of the module lock (token.c), so that other
 * readers, slot lists and slot events go on meanwhile. `busy`, `owner`
 * and `depth` are the module lock's; `io` is held by the owner during a
 * card exchange, for others to wait on, and never together with the module
 * lock. */
typedef struct kz_reader {
	kz_lock *io;
	bool busy;
	pthread_t owner;
	unsigned depth; /* nested takes by the owner */
	bool window;    /* the owner let go of the module lock for card I/O */
	char name[KZ_READER_NAME_MAX];
	kz_backend *backend;
	size_t index; /* slot ids 2*index and 2*index+1 */
	/* A phone arrived or left since C_WaitForSlotEvent last reported the
	 * slot: one flag per slot, as each slot is a token of its own. */
	bool event[JPKI_KEY_COUNT];
	kz_token token;
} kz_reader;

/* A card was seen in the reader: connect and identify it. A card without
 * the JPKI application is remembered so that it is not probed again until
 * it is replaced. */
kz_err kz_token_arrive(kz_reader *r, unsigned long event_count);
/* The phone left (or must be forgotten): drop everything learnt of it,
 * close its sessions. */
void kz_token_leave(kz_reader *r, const char *why);
/* Cheap presence check, no APDU; calls kz_token_leave when it is gone. */
bool kz_token_still_present(kz_reader *r);

/* Read a PIN's tries, once a tap, if arrival did not (the signature
 * password's are read when its token's flags are first wanted). */
void kz_token_want_tries(kz_reader *r, jpki_key key);

/* Whether objects of this key can be read without its PIN on this model. */
bool kz_token_cert_is_public(const kz_token *t, jpki_key key);

/* The certificate (ca = false) or CA certificate of a key, read once per tap
 * at most. A certificate this process has read before on some tap (user
 * authentication and CA certificates only, and only with the
 * certificate_cache setting on) is not read again: the first bytes of the
 * file, up to the issuer's end, are read and compared instead. */
kz_err kz_token_cert(kz_reader *r, jpki_key key, bool ca, const jpki_cert **out);
/* Forget every certificate kept by the process-wide cache. */
void kz_token_cache_clear(void);

/* VERIFY of a key's PIN (a login). The user-authentication PIN stays
 * verified on the card (held in a transaction with lock_login). The
 * signature password does not: in the same transaction the signature
 * certificate is read (it is behind the password) and the application
 * selected again, so that no other program finds it verified; the
 * signature itself verifies it again (kz_token_sign). That selection logs
 * the user-authentication token out too: logged_in[JPKI_KEY_AUTH] says so
 * afterwards. */
kz_err kz_token_verify(kz_reader *r, jpki_key key, const uint8_t *pin, size_t len);
/* Reset the card's security state (both PINs) by selecting the AP again. */
kz_err kz_token_reset_security(kz_reader *r);
/* Make the card forget any PIN this process verified on it (finalising);
 * nothing is sent when this process sent none. */
void kz_token_forget_pins(kz_reader *r);
/* The user of one token logs out (C_Logout, or its last session closed).
 * The card is left with no PIN of this process verified. */
void kz_token_logout(kz_reader *r, jpki_key key);
/* C_SetPIN: VERIFY of old_pin and CHANGE REFERENCE DATA in one
 * transaction; afterwards the card keeps the PIN verified only when
 * keep_verified (a logged-in user-authentication token). */
kz_err kz_token_change_pin(kz_reader *r, jpki_key key, const uint8_t *old_pin, size_t old_len,
                           const uint8_t *new_pin, size_t new_len, bool keep_verified);
/* Keep the signature password of a C_Login(CKU_USER) for the first
 * signature after it; kz_token_disarm wipes it. */
void kz_token_arm(kz_reader *r, const uint8_t *pin, size_t len);
void kz_token_disarm(kz_reader *r);
/* COMPUTE DIGITAL SIGNATURE. For the signature key, pin (not NULL) is
 * verified first and the application selected again after, all in one
 * transaction: no other program's APDU fits between them. */
kz_err kz_token_sign(kz_reader *r, jpki_key key, const uint8_t *pin, size_t pin_len,
                     const uint8_t *in, size_t in_len, uint8_t *sig, size_t *sig_len);

#endif
