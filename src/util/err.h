/* Internal result codes shared by the APDU, JPKI and reader layers.
 * The PKCS#11 front end maps them to CKR_* in one place (pkcs11/rv.c). */
#ifndef KZ_UTIL_ERR_H
#define KZ_UTIL_ERR_H

typedef enum kz_err {
	KZ_OK = 0,
	KZ_E_NOMEM,         /* allocation failed */
	KZ_E_ARGS,          /* caller passed something impossible */
	KZ_E_REMOVED,       /* the phone left the field (or the reader went away) */
	KZ_E_NO_CARD,       /* nothing in the field */
	KZ_E_NO_READER,     /* reader unknown or gone, or no PC/SC service */
	KZ_E_COMM,          /* transmission failed for another reason */
	KZ_E_TIMEOUT,       /* waited long enough */
	KZ_E_CANCELLED,     /* a wait was cancelled (C_Finalize) */
	KZ_E_PROTOCOL,      /* the answer is malformed or makes no sense */
	KZ_E_NOT_FOUND,     /* application or file not there */
	KZ_E_SECURITY,      /* access condition not satisfied (needs a PIN) */
	KZ_E_PIN_INCORRECT, /* wrong PIN; tries left reported separately */
	KZ_E_PIN_LOCKED,    /* PIN blocked */
	KZ_E_PIN_FORMAT,    /* PIN of a form that can never be right */
	KZ_E_PIN_LENGTH,    /* PIN of a length that can never be right */
	KZ_E_DATA_LEN,      /* input too long or too short for the operation */
	KZ_E_UNSUPPORTED,   /* the card refused the instruction or its parameters */
	KZ_E_CARD,          /* any other error status word */
} kz_err;

/* A short English name for logs: "phone removed", "wrong PIN", ... */
const char *kz_err_str(kz_err e);

#endif
