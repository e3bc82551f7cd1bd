/* One tapped token and a session on it: login, certificates, signatures,
 * and the sentence for each way a PKCS#11 call can fail. */
#ifndef KC_TOKEN_H
#define KC_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include "tools/deadline.h"
#include "tools/secret.h"
#include "tools/slots.h"

typedef struct kc_token {
	CK_FUNCTION_LIST_PTR f;
	kc_slot slot;
	CK_SESSION_HANDLE session;
	bool open;
	bool logged_in;
	kc_secret pin; /* kept for keys that want it again per signature */
} kc_token;

/* Waits for a tap for KIND, then opens a session (read-write when RW, as
 * C_SetPIN wants). Says on stderr what arrived. Returns an exit code. */
int kc_token_tap(kc_token *t, CK_FUNCTION_LIST_PTR f, kc_kind kind, bool rw, const kc_deadline *d);

/* Logs the user in: a blocked PIN is refused without asking; otherwise the
 * PIN is read (from PIN_FD when >= 0, else the terminal), form-checked and
 * sent. Returns an exit code; a wrong PIN's message says the tries left. */
int kc_token_login(kc_token *t, int pin_fd, const kc_deadline *d);

/* The certificate with CKA_ID ID as the session sees it now: *OUT is NULL
 * when it is not visible (a phone's, before login). */
int kc_token_cert(kc_token *t, CK_BYTE id, X509 **out);

/* Signs DATA with the private key ID and MECH, logging in again for the
 * signature when the key wants it (CKA_ALWAYS_AUTHENTICATE). *SIG_LEN:
 * in, the room in SIG; out, the signature's length. */
int kc_token_sign(kc_token *t, CK_BYTE id, CK_MECHANISM_TYPE mech, const unsigned char *data,
                  size_t len, unsigned char *sig, size_t *sig_len);

/* Reports a failed call made while WHAT ("reading the certificate"). */
int kc_token_failed(kc_token *t, CK_RV rv, const char *what);

/* Reports a PIN the token refused (wrong or blocked), with the tries left. */
int kc_token_pin_failed(kc_token *t, CK_RV rv);

/* Logs out, closes the session, wipes the PIN. */
void kc_token_close(kc_token *t);

#endif
