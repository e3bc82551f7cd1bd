/* kz-script: a relying party driven line by line, so that a test can hold
 * a module loaded, a session open and a user logged in while other
 * programs use the same card, and decide step by step what happens next.
 *
 *   kz-script --module M     (commands on stdin, one answer line each)
 *
 * Commands (TOKEN is auth or sign; each answers "OK ..." or "ERR CKR_..."):
 *   open TOKEN          a new session on the token's slot (the current one)
 *   login PIN           C_Login(CKU_USER) on the current session
 *   ctxlogin PIN        C_Login(CKU_CONTEXT_SPECIFIC)
 *   logout | close      C_Logout | C_CloseSession of the current session
 *   signinit            C_SignInit(CKM_SHA256_RSA_PKCS, the private key)
 *   signdo              C_Sign over a fixed message; "OK <bytes>" and, when
 *                       the certificate can be read, "verified"
 *   sign [PIN]          signinit, ctxlogin PIN when given, signdo
 *   setpin OLD NEW      C_SetPIN
 *   state               "OK public" or "OK user" (C_GetSessionInfo)
 *   serial              "OK <serialNumber>" of the current token
 *   finalize            C_Finalize (then the program ends)
 * PINs are never echoed. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include "driver.h"

#include "pkcs11/rv-name.h"

static CK_FUNCTION_LIST *p11;
static CK_SESSION_HANDLE session = CK_INVALID_HANDLE;

static const unsigned char message[] = "kazashi kz-script message";

static void answer(CK_RV rv, const char *detail)
{
	if (rv == CKR_OK)
		printf("OK%s%s\n", detail != NULL ? " " : "", detail != NULL ? detail : "");
	else
		printf("ERR %s\n", kz_rv_name(rv));
	fflush(stdout);
}

/* The first slot whose token label starts with the token's label. */
static CK_RV find_slot(const char *which, CK_SLOT_ID *out)
{
	const char *prefix =
	    strcmp(which, "sign") == 0 ? "JPKI Digital Signature" : "JPKI User Authentication";
	CK_SLOT_ID slots[32];
	CK_ULONG n = 32;
	CK_RV rv = p11->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK)
		return rv;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (p11->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, prefix, strlen(prefix)) == 0) {
			*out = slots[i];
			return CKR_OK;
		}
	}
	return CKR_TOKEN_NOT_PRESENT;
}

static CK_RV find_object(CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out)
{
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}};
	CK_ULONG n = 0;
	CK_RV rv = p11->C_FindObjectsInit(session, tmpl, 1);
	if (rv != CKR_OK)
		return rv;
	/* The token's own certificate is the one that is no authority's. */
	CK_OBJECT_HANDLE found[8];
	rv = p11->C_FindObjects(session, found, 8, &n);
	p11->C_FindObjectsFinal(session);
	if (rv != CKR_OK)
		return rv;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_ULONG category = 0;
		CK_ATTRIBUTE a[] = {{CKA_CERTIFICATE_CATEGORY, &category, sizeof category}};
		if (cls != CKO_CERTIFICATE ||
		    (p11->C_GetAttributeValue(session, found[i], a, 1) == CKR_OK &&
		     category != 2)) {
			*out = found[i];
			return CKR_OK;
		}
	}
	return CKR_OBJECT_HANDLE_INVALID;
}

/* Whether sig verifies under the token's certificate; false when the
 * certificate cannot be read. */
static bool verified(const unsigned char *sig, CK_ULONG sig_len)
{
	CK_OBJECT_HANDLE cert;
	if (find_object(CKO_CERTIFICATE, &cert) != CKR_OK)
		return false;
	unsigned char der[4096];
	CK_ATTRIBUTE a = {CKA_VALUE, der, sizeof der};
	if (p11->C_GetAttributeValue(session, cert, &a, 1) != CKR_OK)
		return false;
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)a.ulValueLen);
	EVP_PKEY *pk = x != NULL ? X509_get0_pubkey(x) : NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = pk != NULL && ctx != NULL &&
	          EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
	          EVP_DigestVerify(ctx, sig, sig_len, message, sizeof message - 1) == 1;
	EVP_MD_CTX_free(ctx);
	X509_free(x);
	return ok;
}

static CK_RV sign_init(void)
{
	CK_OBJECT_HANDLE key;
	CK_RV rv = find_object(CKO_PRIVATE_KEY, &key);
	if (rv != CKR_OK)
		return rv;
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	return p11->C_SignInit(session, &mech, key);
}

static CK_RV login(CK_USER_TYPE user, char *pin)
{
	if (pin == NULL)
		return CKR_ARGUMENTS_BAD;
	return p11->C_Login(session, user, (CK_UTF8CHAR_PTR)pin, strlen(pin));
}

static void sign_do(void)
{
	unsigned char sig[512];
	CK_ULONG len = sizeof sig;
	CK_RV rv = p11->C_Sign(session, (CK_BYTE_PTR)message, sizeof message - 1, sig, &len);
	char detail[64];
	snprintf(detail, sizeof detail, "%lu%s", (unsigned long)len,
	         rv == CKR_OK && verified(sig, len) ? " verified" : "");
	answer(rv, detail);
}

static bool run(char *line)
{
	char *cmd = strtok(line, " \t\r\n");
	char *arg1 = strtok(NULL, " \t\r\n");
	char *arg2 = strtok(NULL, " \t\r\n");
	CK_RV rv;
	if (cmd == NULL)
		return true;
	if (strcmp(cmd, "open") == 0) {
		CK_SLOT_ID slot;
		rv = find_slot(arg1 != NULL ? arg1 : "auth", &slot);
		if (rv == CKR_OK)
			rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
			                        NULL, &session);
		answer(rv, NULL);
	} else if (strcmp(cmd, "login") == 0) {
		answer(login(CKU_USER, arg1), NULL);
	} else if (strcmp(cmd, "ctxlogin") == 0) {
		answer(login(CKU_CONTEXT_SPECIFIC, arg1), NULL);
	} else if (strcmp(cmd, "logout") == 0) {
		answer(p11->C_Logout(session), NULL);
	} else if (strcmp(cmd, "close") == 0) {
		answer(p11->C_CloseSession(session), NULL);
	} else if (strcmp(cmd, "signinit") == 0) {
		answer(sign_init(), NULL);
	} else if (strcmp(cmd, "signdo") == 0) {
		sign_do();
	} else if (strcmp(cmd, "sign") == 0) {
		rv = sign_init();
		if (rv == CKR_OK && arg1 != NULL)
			rv = login(CKU_CONTEXT_SPECIFIC, arg1);
		if (rv == CKR_OK)
			sign_do();
		else
			answer(rv, NULL);
	} else if (strcmp(cmd, "setpin") == 0) {
		if (arg1 == NULL || arg2 == NULL)
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = p11->C_SetPIN(session, (CK_UTF8CHAR_PTR)arg1, strlen(arg1),
			                   (CK_UTF8CHAR_PTR)arg2, strlen(arg2));
		answer(rv, NULL);
	} else if (strcmp(cmd, "state") == 0) {
		CK_SESSION_INFO si;
		rv = p11->C_GetSessionInfo(session, &si);
		bool user = si.state == CKS_RO_USER_FUNCTIONS || si.state == CKS_RW_USER_FUNCTIONS;
		answer(rv, user ? "user" : "public");
	} else if (strcmp(cmd, "serial") == 0) {
		CK_SESSION_INFO si;
		CK_TOKEN_INFO ti;
		char serial[sizeof ti.serialNumber + 1];
		rv = p11->C_GetSessionInfo(session, &si);
		if (rv == CKR_OK)
			rv = p11->C_GetTokenInfo(si.slotID, &ti);
		if (rv == CKR_OK) {
			memcpy(serial, ti.serialNumber, sizeof ti.serialNumber);
			serial[sizeof ti.serialNumber] = '\0';
		}
		answer(rv, rv == CKR_OK ? serial : NULL);
	} else if (strcmp(cmd, "finalize") == 0) {
		answer(p11->C_Finalize(NULL), NULL);
		return false;
	} else {
		printf("ERR unknown command\n");
		fflush(stdout);
	}
	return true;
}

int main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "--module") != 0) {
		fputs("usage: kz-script --module PATH < commands\n", stderr);
		return 2;
	}
	p11 = kzt_load("kz-script", argv[2]);
	if (p11 == NULL)
		return 2;
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_RV rv = p11->C_Initialize(&args);
	answer(rv, "initialised");
	if (rv != CKR_OK)
		return 1;
	char line[256];
	bool finalized = false;
	while (fgets(line, sizeof line, stdin) != NULL)
		if (!run(line)) {
			finalized = true;
			break;
		}
	if (!finalized)
		p11->C_Finalize(NULL);
	return 0;
}
