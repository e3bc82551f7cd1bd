/* kazashi-tokens: the JPKI tokens in the field, found the way a relying
 * party finds them. It loads the kazashi module, asks each slot with a
 * token what it holds, tells the two JPKI keys apart by the token labels
 * of <kazashi/kazashi.h> (not by slot numbers, which depend on the readers)
 * and finds each token's certificate by its label.
 *
 *   cc -o kazashi-tokens kazashi-tokens.c $(pkg-config --cflags kazashi p11-kit-1) \
 *      -DKAZASHI_MODULE_PATH="\"$(pkg-config --variable=module kazashi)\"" -ldl
 *   ./kazashi-tokens [MODULE]
 *
 * Prints one line per JPKI token; exits 0 when there is one, 1 when no
 * phone or card is in the field, 2 on an error. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <kazashi/kazashi.h>
#include <p11-kit/pkcs11.h>

/* Whether a blank-padded PKCS#11 text field says TEXT. */
static int field_is(const CK_UTF8CHAR *field, size_t size, const char *text)
{
	size_t n = strlen(text);
	if (n > size || memcmp(field, text, n) != 0)
		return 0;
	for (; n < size; n++) {
		if (field[n] != ' ')
			return 0;
	}
	return 1;
}

/* The length of a blank-padded field's text. */
static int text_len(const CK_UTF8CHAR *field, size_t size)
{
	while (size > 0 && field[size - 1] == ' ')
		size--;
	return (int)size;
}

/* The size of the certificate labelled LABEL on the token, or 0. */
static CK_ULONG cert_size(CK_FUNCTION_LIST_PTR p11, CK_SLOT_ID slot, const char *label)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE query[] = {{CKA_CLASS, &cls, sizeof(cls)},
	                        {CKA_LABEL, (void *)label, strlen(label)}};
	CK_SESSION_HANDLE session;
	CK_OBJECT_HANDLE cert;
	CK_ULONG found = 0;
	CK_ATTRIBUTE value = {CKA_VALUE, NULL, 0};
	if (p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session) != CKR_OK)
		return 0;
	if (p11->C_FindObjectsInit(session, query, 2) == CKR_OK) {
		if (p11->C_FindObjects(session, &cert, 1, &found) != CKR_OK)
			found = 0;
		p11->C_FindObjectsFinal(session);
	}
	if (found == 1 && p11->C_GetAttributeValue(session, cert, &value, 1) != CKR_OK)
		value.ulValueLen = 0;
	p11->C_CloseSession(session);
	return found == 1 ? value.ulValueLen : 0;
}

int main(int argc, char **argv)
{
#ifdef KAZASHI_MODULE_PATH
	const char *path = argc > 1 ? argv[1] : KAZASHI_MODULE_PATH;
#else
	const char *path = argc > 1 ? argv[1] : NULL;
#endif
	if (path == NULL) {
		fprintf(stderr, "usage: %s MODULE (or build with -DKAZASHI_MODULE_PATH)\n",
		        argv[0]);
		return 2;
	}
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	CK_C_GetFunctionList get =
	    lib != NULL ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
	CK_FUNCTION_LIST_PTR p11;
	if (get == NULL || get(&p11) != CKR_OK) {
		fprintf(stderr, "%s: not a PKCS#11 module (%s)\n", path, dlerror());
		return 2;
	}
	/* Settings for this process only, as key=value words (kazashi.conf(5)):
	 * this program never signs, so it needs no Digital Signature token
	 * where the machine's configuration hides it. */
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK,
	                             .pReserved = KAZASHI_CONF_SIGNATURE_TOKEN
	                             "=yes " KAZASHI_CONF_LOG_LEVEL "=error"};
	CK_RV rv = p11->C_Initialize(&args);
	CK_SLOT_ID slots[64];
	CK_ULONG count = 64, tokens = 0;
	if (rv == CKR_OK)
		rv = p11->C_GetSlotList(CK_TRUE, slots, &count);
	for (CK_ULONG i = 0; rv == CKR_OK && i < count; i++) {
		CK_TOKEN_INFO info;
		const char *key, *cert;
		if (p11->C_GetTokenInfo(slots[i], &info) != CKR_OK)
			continue; /* the phone left meanwhile */
		if (field_is(info.label, sizeof(info.label), KAZASHI_TOKEN_LABEL_AUTH))
			key = "user authentication", cert = KAZASHI_LABEL_AUTH_CERT;
		else if (field_is(info.label, sizeof(info.label), KAZASHI_TOKEN_LABEL_SIGN))
			key = "digital signature", cert = KAZASHI_LABEL_SIGN_CERT;
		else
			continue;
		tokens++;
		/* A phone shows its certificates only after login, a card its
		 * signature certificate (it holds the holder's name). */
		CK_ULONG size = cert_size(p11, slots[i], cert);
		const char *holder = field_is(info.model, sizeof(info.model), KAZASHI_MODEL_CARD)
		                         ? "a card"
		                         : "a phone";
		printf("slot %lu: %s key on %s (%.*s), certificate: ", slots[i], key, holder,
		       text_len(info.model, sizeof(info.model)), (const char *)info.model);
		if (size > 0)
			printf("%lu bytes\n", size);
		else
			printf("after login\n");
	}
	if (rv != CKR_OK)
		fprintf(stderr, "%s: PKCS#11 error 0x%lx\n", path, rv);
	p11->C_Finalize(NULL);
	return rv != CKR_OK ? 2 : tokens > 0 ? 0 : 1;
}
