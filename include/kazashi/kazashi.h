/* kazashi.h: what the kazashi PKCS#11 module shows relying parties, as
 * constants: the texts of its slot and token information, the labels and
 * CKA_ID values of its objects, the rules of the two JPKI secrets, the
 * object identifiers of the holder data in the signature certificate, and
 * the configuration keys a relying party may pass to C_Initialize.
 *
 * The module and the kazashi command are built from these same macros, so
 * a relying party that compares against them compares against what the
 * module says. Macros only: no function, no type, no library to link; the
 * header needs nothing else and any C or C++ standard accepts it. Use it
 * with a PKCS#11 header of your choice (p11-kit's <p11-kit/pkcs11.h>, say)
 * and find the module with `pkg-config --variable=module kazashi`.
 *
 * What the module does not define: it has no vendor-defined attributes,
 * mechanisms, object classes or return values (everything it answers is
 * standard PKCS#11 2.40 / 3.0), and no CKO_DATA objects: the holder's
 * name, address, birth date and gender are in the signature certificate's
 * subjectAltName, read after login (KAZASHI_HOLDER_OID_* below).
 *
 * Texts are as the module puts them in PKCS#11's blank-padded fields:
 * compare after removing the trailing blanks. */
#ifndef KAZASHI_KAZASHI_H
#define KAZASHI_KAZASHI_H

/* ---- the module --------------------------------------------------------- */

/* The module's file name, in p11-kit's module directory; p11-kit knows it
 * as "kazashi" (its module file is kazashi.module). */
#define KAZASHI_MODULE_FILE "kazashi-pkcs11.so"
#define KAZASHI_P11KIT_NAME "kazashi"

/* CK_INFO.manufacturerID and libraryDescription; CK_SLOT_INFO.manufacturerID. */
#define KAZASHI_MANUFACTURER        "kazashi"
#define KAZASHI_LIBRARY_DESCRIPTION "kazashi JPKI PKCS#11 module"

/* ---- slots and tokens --------------------------------------------------- */

/* Each reader gives two slots, one per JPKI key. A slot's description is
 * "<reader name> (<key name>)", with or without a phone in the field. */
#define KAZASHI_KEY_AUTH         "User Authentication"
#define KAZASHI_KEY_SIGN         "Digital Signature"
#define KAZASHI_SLOT_SUFFIX_AUTH "(" KAZASHI_KEY_AUTH ")"
#define KAZASHI_SLOT_SUFFIX_SIGN "(" KAZASHI_KEY_SIGN ")"

/* CK_TOKEN_INFO.label: the key's name after "JPKI ". */
#define KAZASHI_TOKEN_LABEL_PREFIX "JPKI "
#define KAZASHI_TOKEN_LABEL_AUTH   KAZASHI_TOKEN_LABEL_PREFIX KAZASHI_KEY_AUTH
#define KAZASHI_TOKEN_LABEL_SIGN   KAZASHI_TOKEN_LABEL_PREFIX KAZASHI_KEY_SIGN

/* CK_TOKEN_INFO.manufacturerID: the issuer of the JPKI application. */
#define KAZASHI_TOKEN_MANUFACTURER "J-LIS"

/* CK_TOKEN_INFO.model: what holds the JPKI application in the field. An
 * older card reads as a card; UNKNOWN is a holder the module could not
 * tell. */
#define KAZASHI_MODEL_CARD    "My Number card"
#define KAZASHI_MODEL_ANDROID "Android"
#define KAZASHI_MODEL_IPHONE  "iPhone"
#define KAZASHI_MODEL_UNKNOWN "JPKI"

/* CK_TOKEN_INFO.serialNumber: this many hexadecimal digits, made from
 * the machine, the reader and the reader's event count when a tap is
 * recognised: the same for both tokens of the tap and in every process,
 * kept until the phone leaves, new for the next tap. Nothing readable
 * before login tells one phone from another: a serial names a tap, never
 * a person. A person is identified by their certificate, after login. */
#define KAZASHI_TOKEN_SERIAL_LEN 16

/* ---- objects ------------------------------------------------------------ */

/* CKA_LABEL of the objects of each token. The private key and its public
 * key share a label (and a CKA_ID), as PKCS#11 expects of a key pair. */
#define KAZASHI_LABEL_AUTH_KEY  KAZASHI_KEY_AUTH " Key"
#define KAZASHI_LABEL_AUTH_CERT KAZASHI_KEY_AUTH " Certificate"
#define KAZASHI_LABEL_AUTH_CA   KAZASHI_KEY_AUTH " CA"
#define KAZASHI_LABEL_SIGN_KEY  KAZASHI_KEY_SIGN " Key"
#define KAZASHI_LABEL_SIGN_CERT KAZASHI_KEY_SIGN " Certificate"
#define KAZASHI_LABEL_SIGN_CA   KAZASHI_KEY_SIGN " CA"

/* CKA_ID, one byte: the key pair and certificate, then the CA certificate,
 * numbered as OpenSC numbers them so that configurations keep working. The
 * CA certificate objects exist only with KAZASHI_CONF_CA_CERTIFICATES on. */
#define KAZASHI_ID_AUTH    1
#define KAZASHI_ID_SIGN    2
#define KAZASHI_ID_AUTH_CA 3
#define KAZASHI_ID_SIGN_CA 4

/* ---- the two secrets ---------------------------------------------------- */

/* The user-authentication PIN: 4 digits, 3 tries. The signature password:
 * 6 to 16 of A-Z and 0-9 (a-z is taken as A-Z), 5 tries. The module
 * refuses a PIN of another length (CKR_PIN_LEN_RANGE) or with another
 * character (CKR_PIN_INVALID) before it costs a try. */
#define KAZASHI_AUTH_PIN_LEN     4
#define KAZASHI_AUTH_PIN_TRIES   3
#define KAZASHI_SIGN_PIN_MIN_LEN 6
#define KAZASHI_SIGN_PIN_MAX_LEN 16
#define KAZASHI_SIGN_PIN_TRIES   5

/* ---- holder data -------------------------------------------------------- */

/* The signature certificate's subjectAltName holds the holder data as
 * otherName entries of UTF8String, under this arc (J-LIS's). The *_SUBST
 * entries say whether the name or address uses substitute characters. */
#define KAZASHI_HOLDER_OID_ARC           "1.2.392.200149.8.5.5."
#define KAZASHI_HOLDER_OID_NAME          KAZASHI_HOLDER_OID_ARC "1"
#define KAZASHI_HOLDER_OID_NAME_SUBST    KAZASHI_HOLDER_OID_ARC "2"
#define KAZASHI_HOLDER_OID_GENDER        KAZASHI_HOLDER_OID_ARC "3"
#define KAZASHI_HOLDER_OID_BIRTH         KAZASHI_HOLDER_OID_ARC "4"
#define KAZASHI_HOLDER_OID_ADDRESS       KAZASHI_HOLDER_OID_ARC "5"
#define KAZASHI_HOLDER_OID_ADDRESS_SUBST KAZASHI_HOLDER_OID_ARC "6"

/* ---- configuration ------------------------------------------------------ */

/* The configuration file (kazashi.conf(5)) is $sysconfdir/kazashi/kazashi.conf
 * unless this environment variable names another; KAZASHI_ENV_DEBUG=1
 * turns on debug logging with an APDU trace (PINs hidden) on stderr. */
#define KAZASHI_ENV_CONF  "KAZASHI_CONF"
#define KAZASHI_ENV_DEBUG "KAZASHI_DEBUG"

/* Keys a relying party may also set for its own process, as "key=value"
 * words separated by blanks in CK_C_INITIALIZE_ARGS.pReserved (what
 * p11-kit's x-init-reserved and NSS's module parameters pass). They win
 * over the file (but log_file is not taken from them in a setuid or setgid
 * process). Booleans take yes/no, true/false, on/off, 1/0. */
#define KAZASHI_CONF_PCSC              "pcsc"              /* bool */
#define KAZASHI_CONF_PCSC_READERS      "pcsc_readers"      /* name parts, commas */
#define KAZASHI_CONF_PCSC_IGNORE       "pcsc_ignore"       /* name parts, commas */
#define KAZASHI_CONF_NFC               "nfc"               /* bool */
#define KAZASHI_CONF_NFC_DEVICE        "nfc_device"        /* libnfc connstrings */
#define KAZASHI_CONF_EXTENDED_APDU     "extended_apdu"     /* bool */
#define KAZASHI_CONF_SIGNATURE_TOKEN   "signature_token"   /* bool */
#define KAZASHI_CONF_CERTIFICATE_CACHE "certificate_cache" /* bool */
#define KAZASHI_CONF_CA_CERTIFICATES   "ca_certificates"   /* bool */
#define KAZASHI_CONF_LOG_LEVEL         "log_level"         /* none, error, warning, info, debug */
#define KAZASHI_CONF_LOG_FILE          "log_file"          /* a path, or "stderr" */
#define KAZASHI_CONF_LOCK_LOGIN        "lock_login"        /* bool */
#define KAZASHI_CONF_APDU_TRACE        "apdu_trace"        /* bool */

#endif
