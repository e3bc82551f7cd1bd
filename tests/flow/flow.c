/* kz-flow: the relying-party flows of ../shared/docs/link-model.md, driven
 * through any PKCS#11 module (kazashi's, OpenSC's) like a relying party
 * would: for the tap tests (a phone that leaves between any two APDUs) and
 * the benchmark. One JSON line per attempt on stdout.
 *
 *   kz-flow --module M --flow auth|sign|discovery|arrive|retap [--pin P]
 *           [--retries N] [--wait-ms MS] [--label PREFIX]
 *
 * --retries N: after a failed attempt, wait for the phone to leave and
 * come back (a new tap) and try again, at most N times, in the same
 * process without re-initialising. Exit 0 when the last attempt worked.
 *
 * --flow retap (link-model.md flow 3): the auth flow, then, once the
 * phone has left the field and come back, the auth flow again in the same
 * process. The line of the first tap, {"tap":1,"ok":...}, tells whoever
 * moves the phone (the benchmark) that the first tap's APDUs are all sent;
 * {"tap":1,"left":true}, that the module has seen the phone go.
 *
 * Tokens are found by label prefix: kazashi's ("JPKI User Authentication",
 * "JPKI Digital Signature") and OpenSC's ("JPKI (User Authentication PIN)",
 * "JPKI (Digital Signature PIN)") are both known, so that one flow drives
 * either module; --label PREFIX replaces them for any other. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include "driver.h"

static CK_FUNCTION_LIST *p11;

typedef struct flow_opts {
	const char *flow;
	const char *pin;
	const char *label; /* --label: the only prefix to look for */
	int retries;
	int wait_ms;
} flow_opts;

/* Token label prefixes of the user-authentication and signature tokens, as
 * the modules this drives name them; NULL-terminated. */
static const char *const auth_labels[] = {"JPKI User Authentication", "JPKI (User Authentication",
                                          NULL};
static const char *const sign_labels[] = {"JPKI Digital Signature", "JPKI (Digital Signature",
                                          NULL};
static const char *const any_labels[] = {"JPKI", NULL};

/* Where an attempt failed: the call and its return value. */
typedef struct outcome {
	const char *call;
	CK_RV rv;
	int certs; /* certificate values read: what the relying party got */
} outcome;

#define CALL(o, fn, ...)                                                                           \
	do {                                                                                       \
		CK_RV rv_ = p11->fn(__VA_ARGS__);                                                  \
		if (rv_ != CKR_OK) {                                                               \
			(o)->call = #fn;                                                           \
			(o)->rv = rv_;                                                             \
			return false;                                                              \
		}                                                                                  \
	} while (0)

static bool label_matches(const CK_UTF8CHAR label[32], const char *const *prefixes)
{
	for (; *prefixes != NULL; prefixes++) {
		size_t n = strlen(*prefixes);
		if (n <= 32 && strncmp((const char *)label, *prefixes, n) == 0)
			return true;
	}
	return false;
}

/* The first slot whose token label starts with one of labels, or false. */
static bool find_slot(const char *const *labels, CK_SLOT_ID *out)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	if (p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return false;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (p11->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (label_matches(ti.label, labels)) {
			*out = slots[i];
			return true;
		}
	}
	return false;
}

/* Wait until a token with label is present, at most ms. Polls the slot
 * list, as every module supports that (not all have slot events). */
static bool wait_token(const char *const *labels, int ms, CK_SLOT_ID *slot)
{
	for (int waited = 0; waited <= ms; waited += 100) {
		if (find_slot(labels, slot))
			return true;
		kzt_sleep_ms(100);
	}
	return false;
}

static bool find_one(outcome *o, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, CK_BYTE id,
                     CK_OBJECT_HANDLE *obj)
{
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, &id, 1}};
	CK_ULONG n = 0;
	CALL(o, C_FindObjectsInit, s, tmpl, 2);
	CALL(o, C_FindObjects, s, obj, 1, &n);
	CALL(o, C_FindObjectsFinal, s);
	return n == 1;
}

static bool read_value(outcome *o, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, unsigned char **out,
                       CK_ULONG *len)
{
	CK_ATTRIBUTE a = {CKA_VALUE, NULL, 0};
	CALL(o, C_GetAttributeValue, s, obj, &a, 1);
	*out = malloc(a.ulValueLen);
	if (*out == NULL)
		return false;
	a.pValue = *out;
	CALL(o, C_GetAttributeValue, s, obj, &a, 1);
	*len = a.ulValueLen;
	return true;
}

static bool verify(const unsigned char *der, long der_len, const unsigned char *msg, size_t msg_len,
                   const unsigned char *sig, size_t sig_len)
{
	X509 *x = d2i_X509(NULL, &der, der_len);
	EVP_PKEY *k = x ? X509_get0_pubkey(x) : NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = k && ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
	          EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len) == 1;
	EVP_MD_CTX_free(ctx);
	X509_free(x);
	return ok;
}

/* Flows 1 and 2: read the certificate (after login where it is private),
 * log in, sign a 32-byte challenge with SHA-256, verify it. */
static bool key_flow(outcome *o, const flow_opts *opt, bool sign_key)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE cert, key;
	CK_BYTE id = sign_key ? 2 : 1;
	const char *pin = opt->pin ? opt->pin : (sign_key ? "ABC123" : "1234");
	CK_ULONG pin_len = (CK_ULONG)strlen(pin);
	const char *only[] = {opt->label, NULL};
	if (!find_slot(opt->label ? only : sign_key ? sign_labels : auth_labels, &slot)) {
		o->call = "find token";
		o->rv = CKR_TOKEN_NOT_PRESENT;
		return false;
	}
	CALL(o, C_OpenSession, slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	bool logged_in = false;
	if (!find_one(o, s, CKO_CERTIFICATE, id, &cert)) {
		if (o->call)
			return false;
		CALL(o, C_Login, s, CKU_USER, (CK_UTF8CHAR_PTR)pin, pin_len);
		logged_in = true;
		if (!find_one(o, s, CKO_CERTIFICATE, id, &cert)) {
			o->call = o->call ? o->call : "find certificate";
			o->rv = o->rv ? o->rv : CKR_OBJECT_HANDLE_INVALID;
			return false;
		}
	}
	unsigned char *der = NULL;
	CK_ULONG der_len = 0;
	if (!read_value(o, s, cert, &der, &der_len))
		return false;
	o->certs++;
	bool ok = false;
	unsigned char challenge[32], sig[512];
	CK_ULONG sig_len = sizeof(sig);
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	for (size_t i = 0; i < sizeof(challenge); i++)
		challenge[i] = (unsigned char)rand();
	if (!logged_in &&
	    (o->rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, pin_len)) != CKR_OK)
		o->call = "C_Login";
	else if (!find_one(o, s, CKO_PRIVATE_KEY, id, &key))
		o->call = o->call ? o->call : "find key";
	else if ((o->rv = p11->C_SignInit(s, &mech, key)) != CKR_OK)
		o->call = "C_SignInit";
	else if (sign_key && (o->rv = p11->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin,
	                                           pin_len)) != CKR_OK)
		o->call = "C_Login(context)";
	else if ((o->rv = p11->C_Sign(s, challenge, sizeof(challenge), sig, &sig_len)) != CKR_OK)
		o->call = "C_Sign";
	else if (!verify(der, (long)der_len, challenge, sizeof(challenge), sig, sig_len))
		o->call = "verify";
	else
		ok = true;
	free(der);
	p11->C_CloseSession(s);
	return ok;
}

/* Flow 4: what a browser does before it asks for a PIN. */
static bool discovery_flow(outcome *o)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	CALL(o, C_GetSlotList, CK_TRUE, slots, &n);
	for (CK_ULONG i = 0; i < n; i++) {
		CK_SLOT_INFO si;
		CK_TOKEN_INFO ti;
		CK_SESSION_HANDLE s;
		CK_OBJECT_HANDLE objs[16];
		CK_ULONG count = 0;
		CALL(o, C_GetSlotInfo, slots[i], &si);
		CALL(o, C_GetTokenInfo, slots[i], &ti);
		CALL(o, C_OpenSession, slots[i], CKF_SERIAL_SESSION, NULL, NULL, &s);
		CALL(o, C_FindObjectsInit, s, NULL, 0);
		CALL(o, C_FindObjects, s, objs, 16, &count);
		CALL(o, C_FindObjectsFinal, s);
		for (CK_ULONG j = 0; j < count; j++) {
			CK_OBJECT_CLASS cls;
			CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
			CALL(o, C_GetAttributeValue, s, objs[j], &a, 1);
			if (cls == CKO_CERTIFICATE) {
				unsigned char *v = NULL;
				CK_ULONG len;
				bool ok = read_value(o, s, objs[j], &v, &len);
				o->certs += ok;
				free(v);
				if (!ok)
					return false;
			}
		}
		CALL(o, C_CloseSession, s);
	}
	return n > 0;
}

static bool run_flow(outcome *o, const flow_opts *opt)
{
	memset(o, 0, sizeof(*o));
	if (!strcmp(opt->flow, "arrive"))
		return true; /* the token is there: what its arrival cost is all */
	if (!strcmp(opt->flow, "auth") || !strcmp(opt->flow, "retap"))
		return key_flow(o, opt, false);
	if (!strcmp(opt->flow, "sign"))
		return key_flow(o, opt, true);
	return discovery_flow(o);
}

static bool load(const char *path)
{
	p11 = kzt_load("kz-flow", path);
	if (p11 == NULL)
		return false;
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_RV rv = p11->C_Initialize(&args);
	if (rv != CKR_OK)
		fprintf(stderr, "kz-flow: C_Initialize: 0x%lx\n", rv);
	return rv == CKR_OK;
}

/* Flow 3: the auth flow on one tap, then again on the next tap of the same
 * phone, in the same process. One line per tap, and {"tap":1,"left":true}
 * once the token has gone. Whoever moves the phone reads them: after the
 * first line every APDU of the first tap is sent; after "left" the module
 * has seen the phone go, and the phone may come back. (A phone back too
 * soon may never be seen to leave: a module may take a quick removal and
 * insertion for one card change.) */
static bool retap(const flow_opts *opt, const char *const *label)
{
	for (int tap = 1; tap <= 2; tap++) {
		CK_SLOT_ID slot;
		outcome o = {.call = "wait for a tap"};
		bool ok = wait_token(label, opt->wait_ms, &slot) && run_flow(&o, opt);
		printf("{\"tap\":%d,\"ok\":%s,\"call\":\"%s\",\"rv\":\"0x%lx\"}\n", tap,
		       ok ? "true" : "false", ok ? "" : (o.call ? o.call : "?"), ok ? 0 : o.rv);
		fflush(stdout);
		if (!ok)
			return false;
		if (tap == 2)
			break;
		/* Wait for the phone to leave, so that the next flow is a new tap. */
		int waited = 0;
		for (; find_slot(label, &slot) && waited < opt->wait_ms; waited += 50)
			kzt_sleep_ms(50);
		if (waited >= opt->wait_ms) {
			printf(
			    "{\"tap\":2,\"ok\":false,\"call\":\"wait for the phone to leave\"}\n");
			return false;
		}
		printf("{\"tap\":1,\"left\":true}\n");
		fflush(stdout);
	}
	return true;
}

static void usage(void)
{
	fputs("usage: kz-flow --module PATH --flow auth|sign|discovery|arrive|retap\n"
	      "               [--pin PIN] [--retries N] [--wait-ms MS] [--label PREFIX]\n",
	      stderr);
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"module", required_argument, NULL, 'm'},  {"flow", required_argument, NULL, 'f'},
	    {"pin", required_argument, NULL, 'p'},     {"retries", required_argument, NULL, 'r'},
	    {"wait-ms", required_argument, NULL, 'w'}, {"label", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	flow_opts opt = {.flow = "auth", .wait_ms = 10000};
	const char *module = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'm':
			module = optarg;
			break;
		case 'f':
			opt.flow = optarg;
			break;
		case 'p':
			opt.pin = optarg;
			break;
		case 'r':
			opt.retries = atoi(optarg);
			break;
		case 'w':
			opt.wait_ms = atoi(optarg);
			break;
		case 'l':
			opt.label = optarg;
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (module == NULL || (strcmp(opt.flow, "auth") && strcmp(opt.flow, "sign") &&
	                       strcmp(opt.flow, "discovery") && strcmp(opt.flow, "arrive") &&
	                       strcmp(opt.flow, "retap"))) {
		usage();
		return 2;
	}
	srand((unsigned)time(NULL));
	if (!load(module))
		return 3;
	const char *only[] = {opt.label, NULL};
	const char *const *label = opt.label                   ? only
	                           : !strcmp(opt.flow, "sign") ? sign_labels
	                                                       : any_labels;
	bool ok = false;
	if (!strcmp(opt.flow, "retap")) {
		ok = retap(&opt, label);
		p11->C_Finalize(NULL);
		return ok ? 0 : 1;
	}
	for (int attempt = 0; attempt <= opt.retries; attempt++) {
		CK_SLOT_ID slot;
		if (!wait_token(label, opt.wait_ms, &slot)) {
			printf("{\"attempt\":%d,\"ok\":false,\"call\":\"wait for a tap\"}\n",
			       attempt);
			break;
		}
		outcome o;
		ok = run_flow(&o, &opt);
		printf("{\"attempt\":%d,\"ok\":%s,\"call\":\"%s\",\"rv\":\"0x%lx\",\"certs\":%d}\n",
		       attempt, ok ? "true" : "false", ok ? "" : (o.call ? o.call : "?"), o.rv,
		       o.certs);
		fflush(stdout);
		if (ok)
			break;
		/* The phone left: wait until its token is gone before the next tap. */
		for (int waited = 0; find_slot(label, &slot) && waited < opt.wait_ms; waited += 100)
			kzt_sleep_ms(100);
	}
	p11->C_Finalize(NULL);
	return ok ? 0 : 1;
}
