#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "backend.h"
#include "pkcs11/entry30.h"
#include "p11fixture.h"
#include "testpki.h"

const char *const p11t_pin[2] = {"1234", "ABC123"};
const char *const p11t_label[2] = {"JPKI User Authentication", "JPKI Digital Signature"};

p11t T;
sim_persona p11t_android = SIM_PERSONA_ANDROID, p11t_card = SIM_PERSONA_CARD;

static void *module; /* dlopen handle when external */

/* ---- the module ------------------------------------------------------------ */

static CK_FUNCTION_LIST *load_external(const char *path)
{
	module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (module == NULL) {
		fprintf(stderr, "test-p11: %s\n", dlerror());
		return NULL;
	}
	CK_C_GetFunctionList get = NULL;
	*(void **)&get = dlsym(module, "C_GetFunctionList");
	CK_FUNCTION_LIST *f = NULL;
	if (get == NULL || get(&f) != CKR_OK)
		return NULL;
	return f;
}

/* Slots by token label: their ids are the module's (or the proxy's). */
static void find_slots(void)
{
	CK_SLOT_ID slots[16];
	CK_ULONG n = KZ_ARRAY_LEN(slots);
	assert_int_equal(T.f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	T.slot[0] = T.slot[1] = (CK_SLOT_ID)-1;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		assert_int_equal(T.f->C_GetTokenInfo(slots[i], &ti), CKR_OK);
		for (int k = 0; k < 2; k++) {
			size_t len = strlen(p11t_label[k]);
			if (memcmp(ti.label, p11t_label[k], len) == 0 && ti.label[len] == ' ' &&
			    T.slot[k] == (CK_SLOT_ID)-1)
				T.slot[k] = slots[i];
		}
	}
	assert_true(T.slot[0] != (CK_SLOT_ID)-1 && T.slot[1] != (CK_SLOT_ID)-1);
}

static void phone_in(void)
{
	if (!T.external) {
		sim_config cfg = {
		    .persona = T.persona,
		    .pki_dir = T.pki,
		    .auth_tries = T.auth_tries,
		    .sign_tries = T.sign_tries,
		};
		T.phone = sim_phone_new(&cfg);
		assert_non_null(T.phone);
		sim_backend_install();
		sim_backend_use_phone(T.phone);
		sim_backend_tap();
	}
}

static void phone_out(void)
{
	if (!T.external) {
		sim_backend_leave();
		sim_backend_use_phone(NULL);
		sim_phone_free(T.phone);
		T.phone = NULL;
	}
}

static void start(void)
{
	phone_in();
	assert_int_equal(T.f->C_Initialize(NULL), CKR_OK);
	find_slots();
}

static void stop(void)
{
	assert_int_equal(T.f->C_Finalize(NULL), CKR_OK);
	phone_out();
}

int p11t_setup_phone(void **state)
{
	T.persona = *(sim_persona *)*state;
	T.auth_tries = T.sign_tries = 0;
	phone_in();
	return 0;
}

int p11t_teardown_phone(void **state)
{
	(void)state;
	(void)T.f->C_Finalize(NULL);
	phone_out();
	return 0;
}

int p11t_setup(void **state)
{
	T.persona = *(sim_persona *)*state;
	T.auth_tries = T.sign_tries = 0;
	start();
	return 0;
}

int p11t_teardown(void **state)
{
	(void)state;
	stop();
	return 0;
}

void p11t_restart(int auth_tries, int sign_tries)
{
	p11t_need_control();
	stop();
	T.auth_tries = auth_tries;
	T.sign_tries = sign_tries;
	start();
}

void p11t_reinit(const char *words)
{
	/* p11-kit's proxy passes its own initialisation arguments. */
	if (T.proxy)
		skip();
	CK_C_INITIALIZE_ARGS args = {.pReserved = (void *)words};
	assert_int_equal(T.f->C_Finalize(NULL), CKR_OK);
	assert_int_equal(T.f->C_Initialize(&args), CKR_OK);
	find_slots();
}

void p11t_need_control(void)
{
	if (T.external)
		skip();
}

unsigned long p11t_transmits(void)
{
	return sim_backend_transmits();
}

/* ---- the program ----------------------------------------------------------- */

static sim_persona persona_named(const char *name)
{
	return name != NULL && strcmp(name, "card") == 0 ? SIM_PERSONA_CARD : SIM_PERSONA_ANDROID;
}

int p11t_run(const char *name, const struct CMUnitTest *tests, size_t count)
{
	const char *path = getenv("KZ_P11_MODULE");
	struct CMUnitTest *run = calloc(count, sizeof(*run));
	size_t n = 0;
	int rc = 1;
	if (run == NULL)
		return 1;
	/* A host configuration must not change what the tests see. */
	setenv("KAZASHI_CONF", "/dev/null", 0);
	T.external = path != NULL && path[0] != '\0';
	if (T.external) {
		sim_persona want = persona_named(getenv("KZ_PERSONA"));
		const char *pki = getenv("KZ_PKI");
		const char *proxy = getenv("KZ_P11_PROXY");
		T.proxy = proxy != NULL && strcmp(proxy, "1") == 0;
		T.pki = pki != NULL ? strdup(pki) : NULL;
		T.f = load_external(path);
		for (size_t i = 0; i < count; i++) {
			if (tests[i].initial_state == NULL ||
			    *(const sim_persona *)tests[i].initial_state == want)
				run[n++] = tests[i];
		}
	} else {
		T.pki = testpki_make();
		C_GetFunctionList(&T.f);
		memcpy(run, tests, count * sizeof(*run));
		n = count;
	}
	if (T.f != NULL && T.pki != NULL)
		rc = _cmocka_run_group_tests(name, run, n, NULL, NULL);
	else
		fprintf(stderr, "test-p11: no module or no PKI\n");
	if (T.external)
		free(T.pki);
	else
		testpki_remove(T.pki);
	if (module != NULL)
		dlclose(module);
	free(run);
	return rc;
}

/* ---- helpers --------------------------------------------------------------- */

CK_FUNCTION_LIST_3_0 *p11t_list_3_0(void)
{
	CK_C_GetInterface get = C_GetInterface;
	if (T.external)
		*(void **)&get = dlsym(module, "C_GetInterface");
	CK_INTERFACE *it = NULL;
	CK_VERSION v3 = {3, 0};
	if (get == NULL || get((CK_UTF8CHAR_PTR) "PKCS 11", &v3, &it, 0) != CKR_OK)
		return NULL;
	return it->pFunctionList;
}

CK_SESSION_HANDLE p11t_open(int token, bool rw)
{
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
	assert_int_equal(T.f->C_OpenSession(T.slot[token], flags, NULL, NULL, &h), CKR_OK);
	assert_true(h != CK_INVALID_HANDLE);
	return h;
}

void p11t_login(CK_SESSION_HANDLE h, int token)
{
	const char *pin = p11t_pin[token];
	assert_int_equal(T.f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)), CKR_OK);
}

CK_FLAGS p11t_token_flags(int token)
{
	CK_TOKEN_INFO ti;
	assert_int_equal(T.f->C_GetTokenInfo(T.slot[token], &ti), CKR_OK);
	return ti.flags;
}

CK_STATE p11t_state(CK_SESSION_HANDLE h)
{
	CK_SESSION_INFO si;
	assert_int_equal(T.f->C_GetSessionInfo(h, &si), CKR_OK);
	return si.state;
}

CK_ULONG p11t_count(CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_OBJECT_HANDLE found[8];
	CK_ULONG count = 0;
	assert_int_equal(T.f->C_FindObjectsInit(h, tmpl, n), CKR_OK);
	assert_int_equal(T.f->C_FindObjects(h, found, KZ_ARRAY_LEN(found), &count), CKR_OK);
	assert_int_equal(T.f->C_FindObjectsFinal(h), CKR_OK);
	return count;
}

CK_OBJECT_HANDLE p11t_find(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls)
{
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}};
	CK_OBJECT_HANDLE found[8];
	CK_ULONG count = 0;
	assert_int_equal(T.f->C_FindObjectsInit(h, tmpl, 1), CKR_OK);
	assert_int_equal(T.f->C_FindObjects(h, found, KZ_ARRAY_LEN(found), &count), CKR_OK);
	assert_int_equal(T.f->C_FindObjectsFinal(h), CKR_OK);
	if (cls == CKO_CERTIFICATE) {
		/* Two certificates: the token's own is CKA_CERTIFICATE_CATEGORY 1. */
		for (CK_ULONG i = 0; i < count; i++) {
			CK_ULONG category = 0;
			CK_ATTRIBUTE a = {CKA_CERTIFICATE_CATEGORY, &category, sizeof(category)};
			assert_int_equal(T.f->C_GetAttributeValue(h, found[i], &a, 1), CKR_OK);
			if (category == 1)
				return found[i];
		}
		return CK_INVALID_HANDLE;
	}
	assert_true(count <= 1);
	return count == 1 ? found[0] : CK_INVALID_HANDLE;
}

bool p11t_verifies(int token, const char *md, const uint8_t *data, size_t len, const uint8_t *sig,
                   size_t sig_len)
{
	size_t der_len = 0;
	uint8_t *der = testpki_read(T.pki, token == P11T_AUTH ? "auth.der" : "sign.der", &der_len);
	assert_non_null(der);
	const uint8_t *p = der;
	X509 *cert = d2i_X509(NULL, &p, (long)der_len);
	free(der);
	assert_non_null(cert);
	EVP_PKEY *key = X509_get0_pubkey(cert);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	bool ok = false;
	if (md != NULL) {
		/* The hash mechanisms: data is the message. */
		EVP_MD_CTX *mctx = EVP_MD_CTX_new();
		ok = mctx != NULL &&
		     EVP_DigestVerifyInit_ex(mctx, NULL, md, NULL, NULL, key, NULL) &&
		     EVP_DigestVerify(mctx, sig, sig_len, data, len) == 1;
		EVP_MD_CTX_free(mctx);
	} else {
		/* CKM_RSA_PKCS: data is what was padded and signed. */
		uint8_t out[512];
		size_t out_len = sizeof(out);
		ok = ctx != NULL && EVP_PKEY_verify_recover_init(ctx) > 0 &&
		     EVP_PKEY_verify_recover(ctx, out, &out_len, sig, sig_len) > 0 &&
		     out_len == len && memcmp(out, data, len) == 0;
	}
	EVP_PKEY_CTX_free(ctx);
	X509_free(cert);
	return ok;
}
