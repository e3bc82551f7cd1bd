/* The JPKI application (公的個人認証AP) as one card or phone presents it.
 * One call = one JPKI operation; knows nothing of PKCS#11. The state kept
 * here (what is selected, which PIN was verified in this tap) exists only to
 * spare APDUs; jpki_card_forget() drops it when the card may have changed
 * hands (reset by someone else, new tap). */
#ifndef KZ_JPKI_JPKI_H
#define KZ_JPKI_JPKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu/apdu.h"
#include "reader/reader.h"
#include "util/err.h"

/* The two key pairs, each with its PIN, certificate and CA certificate. */
typedef enum jpki_key {
	JPKI_KEY_AUTH = 0, /* 利用者証明用: 4-digit PIN, 3 tries */
	JPKI_KEY_SIGN = 1, /* 署名用: 6-16 character password, 5 tries */
} jpki_key;
#define JPKI_KEY_COUNT 2

/* Elementary files (FIDs). */
enum {
	JPKI_EF_TOKEN_INFO = 0x0006,
	JPKI_EF_AUTH_CERT = 0x000A,
	JPKI_EF_AUTH_CA = 0x000B,
	JPKI_EF_AUTH_KEY = 0x0017,
	JPKI_EF_AUTH_PIN = 0x0018,
	JPKI_EF_SIGN_CERT = 0x0001,
	JPKI_EF_SIGN_CA = 0x0002,
	JPKI_EF_SIGN_KEY = 0x001A,
	JPKI_EF_SIGN_PIN = 0x001B,
};

/* What holds the application, from the token-info EF. */
typedef enum jpki_model {
	JPKI_MODEL_UNKNOWN = 0,
	JPKI_MODEL_CARD,     /* JPKIAPICCTOKEN2: My Number card */
	JPKI_MODEL_OLD_CARD, /* JPKIAPICCTOKEN: older Juki card */
	JPKI_MODEL_ANDROID,  /* JPKIAPGPSETOKEN: Android phone, GP-SE */
	JPKI_MODEL_IPHONE,   /* JPKIAPIOSTOKEN: iPhone */
} jpki_model;

#define JPKI_TOKEN_INFO_LEN 32  /* the meaningful, space-padded ASCII part */
#define JPKI_SIGNATURE_LEN  256 /* RSA-2048 */
/* The largest DigestInfo (or raw input) the card pads itself:
 * k - 11 for k = 256. */
#define JPKI_SIGN_INPUT_MAX 245

typedef struct jpki_card {
	kz_transport *link;
	bool ap_selected;
	int selected_fid; /* -1: none known */
	/* Extended-length READ BINARY: untried, accepted or refused; learned
	 * once per card so that a refusal costs one APDU per tap at most. */
	enum { JPKI_EXT_UNKNOWN, JPKI_EXT_YES, JPKI_EXT_NO } extended;
	bool verified[JPKI_KEY_COUNT]; /* PIN verified since the AP select */
	unsigned long apdu_count;      /* exchanges on this card, for logs and tests */
} jpki_card;

void jpki_card_init(jpki_card *c, kz_transport *link);
/* Forget selection and verified state: the next call selects again. */
void jpki_card_forget(jpki_card *c);
/* Forget only which file is selected: another application sharing the
 * card may have selected one since our last exchange. */
void jpki_card_forget_file(jpki_card *c);

/* Select the application (resets the card's security state: this is also
 * how a logout is done). KZ_E_NOT_FOUND when there is no JPKI AP. */
kz_err jpki_select_app(jpki_card *c);

/* Take the application as it is, if another program left it selected:
 * a SELECT of the token-info EF, which only the application has. KZ_OK
 * when it is selected (the token-info EF now is); the card's security
 * state is untouched either way, so that a program that only looks never
 * logs out another that logged in. Any error: select the application. */
kz_err jpki_resume_app(jpki_card *c);

/* Read the token-info EF: text gets the 32 ASCII bytes (NUL-terminated,
 * trailing spaces removed), model what it names. */
kz_err jpki_read_token_info(jpki_card *c, char text[JPKI_TOKEN_INFO_LEN + 1], jpki_model *model);

/* Read a certificate EF whole. The DER length comes from its first bytes so
 * that nothing past the end is asked for. *der is malloc'ed; free() it.
 * KZ_E_SECURITY when the file is behind a PIN not yet verified. */
kz_err jpki_read_certificate(jpki_card *c, uint16_t fid, uint8_t **der, size_t *der_len);

/* The first n bytes (1 to 256) of a certificate EF in one short READ
 * BINARY, into buf (room for n). *got may be less than n when the file is
 * shorter. For telling a certificate from one known already
 * (jpki_cert_identity_len) without reading it all. */
kz_err jpki_read_cert_prefix(jpki_card *c, uint16_t fid, size_t n, uint8_t *buf, size_t *got);

/* n bytes (1 to 256) of an EF from offset, in one short READ BINARY, into
 * buf (room for n); *got may be less at the end of the file. */
kz_err jpki_read_at(jpki_card *c, uint16_t fid, size_t offset, size_t n, uint8_t *buf, size_t *got);

/* jpki_read_certificate, given its first prefix_len bytes (from
 * jpki_read_cert_prefix): reads only what follows them. */
kz_err jpki_read_certificate_rest(jpki_card *c, uint16_t fid, const uint8_t *prefix,
                                  size_t prefix_len, uint8_t **der, size_t *der_len);

/* How many leading bytes of a DER certificate identify it: through the end
 * of the issuer Name, so that they hold its length, serial number and
 * issuer (RFC 5280: issuer and serial name one certificate). 0 when der
 * does not look like a certificate. */
size_t jpki_cert_identity_len(const uint8_t *der, size_t der_len);

/* Tries left for a PIN without using one (VERIFY with no data).
 * KZ_OK with *tries >= 0; a blocked PIN gives *tries = 0 and KZ_OK. A card
 * that answers 9000 (PIN verified, count not given) gives *tries = -1 and
 * KZ_OK. */
kz_err jpki_pin_tries(jpki_card *c, jpki_key key, int *tries);

/* VERIFY. The PIN is sent as given (check its form first with jpki_pin_*).
 * KZ_OK with *tries_left = jpki_pin_max_tries(key) (a success resets the
 * counter), KZ_E_PIN_INCORRECT with *tries_left, KZ_E_PIN_LOCKED with
 * *tries_left = 0; -1 when the answer says nothing of the tries (transport
 * errors, KZ_E_PIN_LENGTH for a 6700, ...). tries_left may be NULL.
 * Never retried. */
kz_err jpki_verify(jpki_card *c, jpki_key key, const uint8_t *pin, size_t pin_len, int *tries_left);

/* CHANGE REFERENCE DATA after a VERIFY of the same PIN in this tap. */
kz_err jpki_change_pin(jpki_card *c, jpki_key key, const uint8_t *new_pin, size_t new_len);

/* COMPUTE DIGITAL SIGNATURE over input (a DER DigestInfo, or raw data of at
 * most JPKI_SIGN_INPUT_MAX bytes); the card pads (PKCS#1 v1.5 type 1).
 * sig must hold JPKI_SIGNATURE_LEN bytes. KZ_E_SECURITY when the PIN is not
 * verified. */
kz_err jpki_sign(jpki_card *c, jpki_key key, const uint8_t *input, size_t input_len, uint8_t *sig,
                 size_t *sig_len);

/* One command and its response, as every operation above sends it:
 * encoded, checked against the link's max_cmd (KZ_E_DATA_LEN), traced with
 * kz_log_apdu, counted in c->apdu_count. 61xx is followed by at most 8
 * GET RESPONSEs, a 6Cxx to a short READ BINARY is sent again once with
 * Le = xx. KZ_E_PROTOCOL for a response shorter than the status word or
 * with more data than a->le allows. A transport error forgets the card's
 * state (jpki_card_forget) and is returned unchanged. out->data points into
 * resp (capacity cap, at least 2). */
kz_err jpki_transmit(jpki_card *c, const kz_apdu *a, uint8_t *resp, size_t cap, kz_rapdu *out);

/* The FIDs of a key's files. */
uint16_t jpki_cert_fid(jpki_key key);
uint16_t jpki_ca_fid(jpki_key key);
uint16_t jpki_key_fid(jpki_key key);
uint16_t jpki_pin_fid(jpki_key key);
int jpki_pin_max_tries(jpki_key key);
const char *jpki_model_name(jpki_model m); /* "My Number card", "Android", ... */

#endif
