/* libFuzzer harness: the whole module through its PKCS#11 entry points,
 * driven by a phone whose every answer comes from the input.
 *
 * Input: one byte of settings (bit 0: the process-wide certificate cache,
 * bit 1: extended APDUs, bit 2: a second tap of the same phone, bit 3:
 * change the PIN, bits 4-6: the signing mechanism, bit 7: multi-part),
 * then the phone's answers as a stream.h stream. The harness plays a
 * relying party's whole visit on both tokens: slots and tokens, every
 * object and attribute before and after login, a signature (with the
 * signature key's context login), the PIN change, logout; then, if asked,
 * the phone leaves and comes back and it all happens again.
 *
 * Checked besides the sanitizers (and libFuzzer's leak check and timeout):
 * no call returns what a phone must never cause (CKR_GENERAL_ERROR,
 * CKR_FUNCTION_FAILED, CKR_HOST_MEMORY, CKR_ARGUMENTS_BAD,
 * CKR_DATA_LEN_RANGE, CKR_BUFFER_TOO_SMALL); a signature returned is 256 bytes
 * and verifies under the certificate the module showed in the same tap,
 * if it showed one; every call's APDUs are bounded.
 *
 * KZ_FUZZ_LOG=FILE: the module's debug log and APDU trace go there (to
 * read what happened when replaying a finding); /dev/null otherwise.
 *
 * Seeds: KZ_FUZZ_RECORD=DIR KZ_FUZZ_PKI=PKI ./fuzz-module plays the visit
 * against the simulated phone (tests/sim) with that test PKI, writes the
 * settings byte and the phone's answers as one seed per persona and
 * setting into DIR, and exits. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "backend.h"
#include "phone.h"
#include "pkcs11/p11.h"
#include "pkcs11/token.h"
#include "stream.h"

/* APDUs one call may cost: far above any honest call (a certificate read
 * is bounded in jpki.c at 66 READ BINARYs of at most 10 exchanges each),
 * far below a loop. */
#define CALL_APDUS_MAX 4000

#define SET_CACHE    0x01
#define SET_EXTENDED 0x02
#define SET_RETAP    0x04
#define SET_PIN      0x08
#define SET_MULTI    0x80

static const char *const pins[2] = {"1234", "ABC123"};

static const struct {
	CK_MECHANISM_TYPE type;
	const char *md; /* NULL: the data is what is signed */
} mechs[8] = {
    {CKM_RSA_PKCS, NULL},
    {CKM_SHA256_RSA_PKCS, "SHA256"},
    {CKM_SHA1_RSA_PKCS, "SHA1"},
    {CKM_SHA224_RSA_PKCS, "SHA224"},
    {CKM_SHA384_RSA_PKCS, "SHA384"},
    {CKM_SHA512_RSA_PKCS, "SHA512"},
    {CKM_SHA256_RSA_PKCS, "SHA256"},
    {CKM_RSA_PKCS, NULL},
};

/* A SHA-256 DigestInfo: CKM_RSA_PKCS's input, and the message otherwise. */
static const CK_BYTE message[51] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
                                    0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
                                    0x20, 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea};

static CK_FUNCTION_LIST *F;
static stream S;
static unsigned long apdus; /* in the current call */
static uint8_t settings;

/* Recording seeds: the simulated phone answers, and its answers are kept. */
static sim_phone *rec_phone;
static uint8_t *rec_buf;
static size_t rec_len, rec_cap;

static bool answer(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
	(void)ctx;
	apdus++;
	if (rec_phone == NULL)
		return stream_answer(&S, resp, resp_len);
	static uint8_t buf[SIM_RESP_MAX];
	size_t n = 0;
	if (!sim_phone_transmit(rec_phone, cmd, cmd_len, buf, &n) || n > *resp_len)
		return false;
	if (!stream_record(rec_buf, rec_cap, &rec_len, buf, n))
		return false;
	memcpy(resp, buf, n);
	*resp_len = n;
	return true;
}

static void die(const char *what, CK_RV rv)
{
	fprintf(stderr, "fuzz-module: %s: rv 0x%lx after %lu APDUs\n", what, (unsigned long)rv,
	        apdus);
	abort();
}

/* Every call through here: what a phone may never make the module say.
 * The harness passes only valid arguments and data (a 51-byte input
 * signs with every mechanism), so a length error is never the caller's. */
static CK_RV check(const char *what, CK_RV rv)
{
	if (rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED || rv == CKR_HOST_MEMORY ||
	    rv == CKR_ARGUMENTS_BAD || rv == CKR_DATA_LEN_RANGE || rv == CKR_BUFFER_TOO_SMALL)
		die(what, rv);
	if (apdus > CALL_APDUS_MAX)
		die(what, rv);
	return rv;
}

#define CALL(expr) check(#expr, (apdus = 0, (expr)))

/* ---- what the relying party saw ------------------------------------------ */

/* The token's own certificate as C_GetAttributeValue gave it in this tap. */
static uint8_t shown[2][8192];
static size_t shown_len[2];

/* A signature the module returned must verify under the certificate it
 * showed: it checks that itself (sign.c), and a phone that could slip a
 * signature past it could make a relying party accept another's. */
static void check_signature(int token, const char *md, const uint8_t *sig, CK_ULONG sig_len)
{
	if (sig_len != 256)
		die("signature of another length than the key's", sig_len);
	if (shown_len[token] == 0)
		return; /* nothing shown: the module had nothing to check against */
	const uint8_t *p = shown[token];
	X509 *x = d2i_X509(NULL, &p, (long)shown_len[token]);
	EVP_PKEY *key = x != NULL ? X509_get0_pubkey(x) : NULL;
	bool ok = false;
	if (key != NULL && md != NULL) {
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		ok = m != NULL &&
		     EVP_DigestVerifyInit_ex(m, NULL, md, NULL, NULL, key, NULL) == 1 &&
		     EVP_DigestVerify(m, sig, sig_len, message, sizeof message) == 1;
		EVP_MD_CTX_free(m);
	} else if (key != NULL) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
		ok = c != NULL && EVP_PKEY_verify_init(c) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_verify(c, sig, sig_len, message, sizeof message) == 1;
		EVP_PKEY_CTX_free(c);
	}
	X509_free(x);
	if (!ok)
		die("a signature that does not verify under the certificate shown", 0);
}

/* ---- the visit ------------------------------------------------------------ */

static void all_attributes(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, int token)
{
	static const CK_ATTRIBUTE_TYPE types[] = {
	    CKA_CLASS,
	    CKA_ID,
	    CKA_LABEL,
	    CKA_PRIVATE,
	    CKA_VALUE,
	    CKA_SUBJECT,
	    CKA_ISSUER,
	    CKA_SERIAL_NUMBER,
	    CKA_MODULUS,
	    CKA_MODULUS_BITS,
	    CKA_PUBLIC_EXPONENT,
	    CKA_PUBLIC_KEY_INFO,
	    CKA_START_DATE,
	    CKA_END_DATE,
	    CKA_CERTIFICATE_CATEGORY,
	    CKA_ALWAYS_AUTHENTICATE,
	};
	CK_ATTRIBUTE a[KZ_ARRAY_LEN(types)];
	for (size_t i = 0; i < KZ_ARRAY_LEN(types); i++)
		a[i] = (CK_ATTRIBUTE){types[i], NULL, 0};
	/* The two-call pattern: lengths, then values. */
	CK_RV rv = CALL(F->C_GetAttributeValue(h, o, a, KZ_ARRAY_LEN(a)));
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE)
		return;
	static uint8_t room[KZ_ARRAY_LEN(types)][8192];
	for (size_t i = 0; i < KZ_ARRAY_LEN(a); i++) {
		if (a[i].ulValueLen == CK_UNAVAILABLE_INFORMATION || a[i].ulValueLen > 8192)
			a[i].ulValueLen = 0;
		a[i].pValue = room[i];
	}
	rv = CALL(F->C_GetAttributeValue(h, o, a, KZ_ARRAY_LEN(a)));
	/* Attributes a certificate has not (CKA_MODULUS) or a key hides do
	 * not stop the others from being filled in. */
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE)
		return;
	/* The token's own certificate (CKA_CLASS first, CKA_ID second). */
	CK_OBJECT_CLASS cls = CKO_DATA;
	if (a[0].ulValueLen == sizeof cls)
		memcpy(&cls, a[0].pValue, sizeof cls);
	if (cls == CKO_CERTIFICATE && a[1].ulValueLen == 1 &&
	    *(CK_BYTE *)a[1].pValue == token + 1 && a[4].ulValueLen <= sizeof shown[token]) {
		memcpy(shown[token], a[4].pValue, a[4].ulValueLen);
		shown_len[token] = a[4].ulValueLen;
	}
}

static void objects(CK_SESSION_HANDLE h, int token)
{
	CK_OBJECT_HANDLE found[8];
	CK_ULONG n = 0;
	if (CALL(F->C_FindObjectsInit(h, NULL, 0)) != CKR_OK)
		return;
	CALL(F->C_FindObjects(h, found, KZ_ARRAY_LEN(found), &n));
	CALL(F->C_FindObjectsFinal(h));
	for (CK_ULONG i = 0; i < n && i < KZ_ARRAY_LEN(found); i++)
		all_attributes(h, found[i], token);
}

static CK_OBJECT_HANDLE private_key(CK_SESSION_HANDLE h)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t = {CKA_CLASS, &cls, sizeof cls};
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_ULONG n = 0;
	if (CALL(F->C_FindObjectsInit(h, &t, 1)) != CKR_OK)
		return CK_INVALID_HANDLE;
	CALL(F->C_FindObjects(h, &key, 1, &n));
	CALL(F->C_FindObjectsFinal(h));
	return n == 1 ? key : CK_INVALID_HANDLE;
}

static void sign(CK_SESSION_HANDLE h, int token)
{
	CK_OBJECT_HANDLE key = private_key(h);
	if (key == CK_INVALID_HANDLE)
		return;
	int m = (settings >> 4) & 7;
	CK_MECHANISM mech = {mechs[m].type, NULL, 0};
	if (CALL(F->C_SignInit(h, &mech, key)) != CKR_OK)
		return;
	CK_UTF8CHAR_PTR pin = (CK_UTF8CHAR_PTR)pins[token];
	if (token == 1)
		CALL(F->C_Login(h, CKU_CONTEXT_SPECIFIC, pin, strlen(pins[token])));
	uint8_t sig[512];
	CK_ULONG sig_len = sizeof sig;
	CK_RV rv;
	if (settings & SET_MULTI) {
		CALL(F->C_SignUpdate(h, (CK_BYTE_PTR)message, 20));
		CALL(F->C_SignUpdate(h, (CK_BYTE_PTR)message + 20, sizeof message - 20));
		rv = CALL(F->C_SignFinal(h, sig, &sig_len));
	} else {
		rv = CALL(F->C_Sign(h, (CK_BYTE_PTR)message, sizeof message, sig, &sig_len));
	}
	if (rv == CKR_OK)
		check_signature(token, mechs[m].md, sig, sig_len);
}

static void visit_token(int token)
{
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_FLAGS flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
	if (CALL(F->C_OpenSession((CK_SLOT_ID)token, flags, NULL, NULL, &h)) != CKR_OK)
		return;
	CK_SESSION_INFO si;
	CALL(F->C_GetSessionInfo(h, &si));
	objects(h, token); /* before login: what is public */
	CK_UTF8CHAR_PTR pin = (CK_UTF8CHAR_PTR)pins[token];
	CK_ULONG pin_len = strlen(pins[token]);
	if (CALL(F->C_Login(h, CKU_USER, pin, pin_len)) == CKR_OK) {
		objects(h, token);
		sign(h, token);
		if (settings & SET_PIN)
			CALL(F->C_SetPIN(h, pin, pin_len, pin, pin_len));
		CALL(F->C_Logout(h));
	}
	CALL(F->C_CloseSession(h));
}

static void visit(void)
{
	CK_SLOT_ID slots[4];
	CK_ULONG n = KZ_ARRAY_LEN(slots);
	CALL(F->C_GetSlotList(CK_TRUE, slots, &n));
	shown_len[0] = shown_len[1] = 0;
	for (CK_SLOT_ID s = 0; s < 2; s++) {
		CK_TOKEN_INFO ti;
		CK_SLOT_INFO si;
		CALL(F->C_GetSlotInfo(s, &si));
		CALL(F->C_GetTokenInfo(s, &ti));
		CK_ULONG count = 0;
		CALL(F->C_GetMechanismList(s, NULL, &count));
	}
	visit_token(0);
	visit_token(1);
	CK_SLOT_ID event;
	CALL(F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, NULL));
}

static void tap(void)
{
	if (rec_phone != NULL)
		sim_phone_reset(rec_phone);
	sim_backend_tap();
}

static void run(void)
{
	/* The log and trace code runs on what the phone said; to read it
	 * when replaying a finding, KZ_FUZZ_LOG names a file. */
	const char *log = getenv("KZ_FUZZ_LOG");
	char words[4200];
	snprintf(words, sizeof words,
	         /* The CA certificates shown, so that their parse is fuzzed too. */
	         "ca_certificates=yes certificate_cache=%s extended_apdu=%s log_level=debug "
	         "apdu_trace=yes "
	         "log_file=%s",
	         settings & SET_CACHE ? "yes" : "no", settings & SET_EXTENDED ? "yes" : "no",
	         log != NULL && strlen(log) < 4000 ? log : "/dev/null");
	CK_C_INITIALIZE_ARGS args = {.pReserved = words};
	tap();
	if (F->C_Initialize(&args) != CKR_OK)
		die("C_Initialize", 0);
	visit();
	if (settings & SET_RETAP) {
		sim_backend_leave();
		CK_ULONG n = 0;
		CALL(F->C_GetSlotList(CK_TRUE, NULL, &n));
		tap();
		visit();
	}
	sim_backend_leave();
	if (F->C_Finalize(NULL) != CKR_OK)
		die("C_Finalize", 0);
	/* The cache is the process's: one input must not feed the next. */
	kz_token_cache_clear();
}

/* ---- seeds ------------------------------------------------------------------- */

static void record(const char *dir, const char *pki)
{
	static const uint8_t kinds[] = {0x00, 0x0F, 0x97};
	rec_cap = 1 << 20;
	rec_buf = malloc(rec_cap);
	for (int persona = 0; persona < 2 && rec_buf != NULL; persona++) {
		for (size_t k = 0; k < sizeof kinds; k++) {
			sim_config cfg = {
			    .persona = persona ? SIM_PERSONA_ANDROID : SIM_PERSONA_CARD,
			    .pki_dir = pki,
			    .accept_extended = (kinds[k] & SET_EXTENDED) != 0,
			};
			rec_phone = sim_phone_new(&cfg);
			if (rec_phone == NULL)
				exit(1);
			settings = kinds[k];
			rec_buf[0] = settings;
			rec_len = 1;
			run();
			char path[4096];
			snprintf(path, sizeof path, "%s/%s-%02x", dir, persona ? "android" : "card",
			         settings);
			FILE *f = fopen(path, "wb");
			if (f == NULL || fwrite(rec_buf, 1, rec_len, f) != rec_len ||
			    fclose(f) != 0)
				exit(1);
			sim_phone_free(rec_phone);
			rec_phone = NULL;
		}
	}
	free(rec_buf);
	exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	/* A host configuration must not change what the fuzzer sees. */
	setenv("KAZASHI_CONF", "/dev/null", 1);
	unsetenv("KAZASHI_DEBUG");
	C_GetFunctionList(&F);
	sim_backend_install();
	sim_backend_use_function(answer, NULL);
	const char *dir = getenv("KZ_FUZZ_RECORD");
	if (dir != NULL)
		record(dir, getenv("KZ_FUZZ_PKI") != NULL ? getenv("KZ_FUZZ_PKI") : ".");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	settings = data[0];
	stream_init(&S, data + 1, size - 1);
	run();
	return 0;
}
