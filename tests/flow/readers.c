/* kz-readers: readers side by side through any PKCS#11 module (kazashi's,
 * OpenSC's): one relying-party thread per reader, each with its own
 * session, logging in, then signing in a loop; every signature timed and
 * checked against the token's certificate with OpenSSL. For the
 * multi-reader tests and `make bench`.
 *
 *   kz-readers --module M [--readers N] [--count K] [--key sign|auth]
 *              [--pin P] [--wait-ms MS] [--stall I] [--deadline-ms MS]
 *              [--skip K] [--mutexes]
 *
 * --mutexes: C_Initialize with the application's mutex callbacks
 * (CreateMutex and friends, pthreads underneath) instead of
 * CKF_OS_LOCKING_OK, the other threading mode a module must keep.
 *
 * --skip K: use the tokens after the first K (one process per reader, to
 * see what pcscd and the phones allow without the module in between).
 *
 * One JSON line per event on stdout, times in ms from one common start:
 *   {"ev":"ready","reader":i,"slot":s}               logged in, certificate read
 *   {"ev":"begin","reader":i,"n":k,"t":..}          C_SignInit is called
 *   {"ev":"sign","reader":i,"n":k,"start":..,"end":..,"ok":true,"rv":"0x0"}
 *   {"ev":"call","what":"C_GetSlotList","ms":..}    (--stall) list calls
 *   {"ev":"finalize","ms":..}
 *   {"ev":"summary","readers":N,"signatures":..,"failed":..,"seconds":..,
 *    "per_second":..}
 *   {"ev":"hang","phase":"..","after_ms":..}         the watchdog fired
 * "ok" means C_Sign returned CKR_OK and the signature verifies.
 *
 * --stall I: the phone on reader I (in slot order) is expected to freeze
 * during its first signature (kazashi-phone-sim --freeze-ins 2A). Reader I
 * starts signing first; once it is in its signature (and 300 ms more),
 * the other readers sign --count times each and the main thread lists
 * slots and asks C_GetTokenInfo of every other reader's slots; then
 * C_Finalize. Reader I's thread is never joined.
 *
 * --deadline-ms (default 60000): longest a phase (waiting for tokens,
 * logins, the signing, the list calls, C_Finalize) may take before the
 * watchdog reports a hang and exits 4: the failure detector of the tests,
 * generous on purpose. Exit 0 when every signature expected to finish
 * did, and verified. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include "driver.h"

#define READERS_MAX 16

static CK_FUNCTION_LIST *p11;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static double t0;

typedef struct opts {
	int readers, count, stall, wait_ms, deadline_ms;
	int skip; /* tokens passed over before the first one used */
	bool mutexes;
	bool sign_key;
	const char *pin;
} opts;

typedef struct reader_job {
	int index;
	CK_SLOT_ID slot;
	const opts *o;
	int done, failed;
	bool ready, began; /* under go_lock */
	double first_start, last_end;
} reader_job;

/* Milliseconds since the driver started (t0). */
static double now_ms(void)
{
	return kzt_now_ms() - t0;
}

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&out_lock);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	va_end(ap);
}

/* ---- the watchdog: a phase that takes too long is a hang --------------- */

static pthread_mutex_t dog_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dog_cond = PTHREAD_COND_INITIALIZER;
static const char *dog_phase;
static double dog_since;
static int dog_limit_ms;

static void phase(const char *name)
{
	pthread_mutex_lock(&dog_lock);
	dog_phase = name;
	dog_since = now_ms();
	pthread_cond_broadcast(&dog_cond);
	pthread_mutex_unlock(&dog_lock);
}

static void *watchdog(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&dog_lock);
	for (;;) {
		const char *p = dog_phase;
		double since = dog_since;
		if (p == NULL) {
			pthread_cond_wait(&dog_cond, &dog_lock);
			continue;
		}
		double left = since + dog_limit_ms - now_ms();
		if (left <= 0) {
			pthread_mutex_unlock(&dog_lock);
			emit("{\"ev\":\"hang\",\"phase\":\"%s\",\"after_ms\":%.0f}", p,
			     now_ms() - since);
			_exit(4);
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(left / 1000) + 1;
		pthread_cond_timedwait(&dog_cond, &dog_lock, &until);
	}
	return NULL;
}

/* ---- one reader's relying party -------------------------------------- */

static const char *const sign_labels[] = {"JPKI Digital Signature", "JPKI (Digital Signature",
                                          NULL};
static const char *const auth_labels[] = {"JPKI User Authentication", "JPKI (User Authentication",
                                          NULL};

static bool label_matches(const CK_UTF8CHAR label[32], const char *const *prefixes)
{
	for (; *prefixes != NULL; prefixes++)
		if (strncmp((const char *)label, *prefixes, strlen(*prefixes)) == 0)
			return true;
	return false;
}

/* The slots whose token is the wanted key's, in slot order (one a
 * reader), after the first `skip` of them. */
static int token_slots(bool sign_key, int skip, CK_SLOT_ID *out, int max)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	int found = 0;
	if (p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return 0;
	for (CK_ULONG i = 0; i < n && found < max; i++) {
		CK_TOKEN_INFO ti;
		if (p11->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    label_matches(ti.label, sign_key ? sign_labels : auth_labels) && skip-- <= 0)
			out[found++] = slots[i];
	}
	return found;
}

static bool find_one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *obj)
{
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}};
	CK_ULONG n = 0;
	if (p11->C_FindObjectsInit(s, tmpl, 1) != CKR_OK)
		return false;
	CK_RV rv = p11->C_FindObjects(s, obj, 1, &n);
	p11->C_FindObjectsFinal(s);
	return rv == CKR_OK && n == 1;
}

static EVP_PKEY *read_public_key(CK_SESSION_HANDLE s)
{
	CK_OBJECT_HANDLE cert;
	CK_ATTRIBUTE a = {CKA_VALUE, NULL, 0};
	if (!find_one(s, CKO_CERTIFICATE, &cert) ||
	    p11->C_GetAttributeValue(s, cert, &a, 1) != CKR_OK)
		return NULL;
	unsigned char *der = malloc(a.ulValueLen);
	if (der == NULL)
		return NULL;
	a.pValue = der;
	EVP_PKEY *k = NULL;
	if (p11->C_GetAttributeValue(s, cert, &a, 1) == CKR_OK) {
		const unsigned char *p = der;
		X509 *x = d2i_X509(NULL, &p, (long)a.ulValueLen);
		if (x != NULL)
			k = X509_get_pubkey(x);
		X509_free(x);
	}
	free(der);
	return k;
}

static bool verify(EVP_PKEY *k, const unsigned char *msg, size_t len, const unsigned char *sig,
                   size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
	          EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* The signing loop waits for this: every reader logged in (and, with
 * --stall, the stalled reader stuck in its signature). */
static pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int ready_count;
static bool go, stall_go;

static void wait_flag(bool *flag)
{
	pthread_mutex_lock(&go_lock);
	while (!*flag)
		pthread_cond_wait(&go_cond, &go_lock);
	pthread_mutex_unlock(&go_lock);
}

static void set_flag(bool *flag)
{
	pthread_mutex_lock(&go_lock);
	*flag = true;
	pthread_cond_broadcast(&go_cond);
	pthread_mutex_unlock(&go_lock);
}

/* One signature: SignInit, the context-specific login a key with
 * CKA_ALWAYS_AUTHENTICATE asks for, Sign; the result verified. */
static CK_RV sign_once(reader_job *j, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, bool always,
                       EVP_PKEY *pub, bool *verified)
{
	const char *pin = j->o->pin ? j->o->pin : (j->o->sign_key ? "ABC123" : "1234");
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	unsigned char msg[32], sig[512];
	CK_ULONG sig_len = sizeof(sig);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(rand() ^ j->index);
	*verified = false;
	CK_RV rv = p11->C_SignInit(s, &mech, key);
	if (rv == CKR_OK && always)
		rv = p11->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin,
		                  (CK_ULONG)strlen(pin));
	if (rv == CKR_OK)
		rv = p11->C_Sign(s, msg, sizeof(msg), sig, &sig_len);
	if (rv == CKR_OK)
		*verified = verify(pub, msg, sizeof(msg), sig, sig_len);
	return rv;
}

static void *reader_thread(void *arg)
{
	reader_job *j = arg;
	const opts *o = j->o;
	const char *pin = o->pin ? o->pin : (o->sign_key ? "ABC123" : "1234");
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_BBOOL always = CK_FALSE;
	CK_ATTRIBUTE aa = {CKA_ALWAYS_AUTHENTICATE, &always, sizeof(always)};
	EVP_PKEY *pub = NULL;
	CK_RV rv = p11->C_OpenSession(j->slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	if (rv == CKR_OK)
		rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin));
	if (rv == CKR_OK && (pub = read_public_key(s)) == NULL)
		rv = CKR_GENERAL_ERROR;
	if (rv == CKR_OK && !find_one(s, CKO_PRIVATE_KEY, &key))
		rv = CKR_KEY_HANDLE_INVALID;
	if (rv == CKR_OK && p11->C_GetAttributeValue(s, key, &aa, 1) != CKR_OK)
		always = CK_FALSE;
	emit("{\"ev\":\"ready\",\"reader\":%d,\"slot\":%lu,\"ok\":%s,\"rv\":\"0x%lx\"}", j->index,
	     j->slot, rv == CKR_OK ? "true" : "false", rv);
	pthread_mutex_lock(&go_lock);
	j->ready = rv == CKR_OK;
	ready_count++;
	pthread_cond_broadcast(&go_cond);
	pthread_mutex_unlock(&go_lock);
	if (rv != CKR_OK) {
		j->failed = o->count;
		return NULL;
	}
	bool stalled = o->stall == j->index;
	wait_flag(stalled ? &go : &stall_go);
	for (int n = 0; n < (stalled ? 1 : o->count); n++) {
		bool verified;
		double start = now_ms();
		if (n == 0) {
			pthread_mutex_lock(&go_lock);
			j->began = true;
			pthread_cond_broadcast(&go_cond);
			pthread_mutex_unlock(&go_lock);
		}
		emit("{\"ev\":\"begin\",\"reader\":%d,\"n\":%d,\"t\":%.1f}", j->index, n, start);
		rv = sign_once(j, s, key, always, pub, &verified);
		double end = now_ms();
		emit("{\"ev\":\"sign\",\"reader\":%d,\"n\":%d,\"start\":%.1f,\"end\":%.1f,"
		     "\"ok\":%s,\"rv\":\"0x%lx\"}",
		     j->index, n, start, end, verified ? "true" : "false", rv);
		if (n == 0)
			j->first_start = start;
		j->last_end = end;
		if (verified)
			j->done++;
		else
			j->failed++;
	}
	p11->C_CloseSession(s);
	EVP_PKEY_free(pub);
	return NULL;
}

/* ---- what the main thread does ---------------------------------------- */

static void timed_call(const char *what, CK_RV rv, double start)
{
	emit("{\"ev\":\"call\",\"what\":\"%s\",\"ms\":%.1f,\"rv\":\"0x%lx\"}", what,
	     now_ms() - start, rv);
}

/* While reader `stall` hangs: list the slots, look for a slot event, and
 * ask every other reader's slot and token info. */
static void list_calls(const CK_SLOT_ID *slots, int n, int stall)
{
	CK_SLOT_ID all[64];
	CK_ULONG count = 64;
	double start = now_ms();
	timed_call("C_GetSlotList", p11->C_GetSlotList(CK_FALSE, all, &count), start);
	CK_SLOT_ID event_slot;
	start = now_ms();
	timed_call("C_WaitForSlotEvent", p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event_slot, NULL),
	           start);
	for (int i = 0; i < n; i++) {
		if (i == stall)
			continue;
		CK_TOKEN_INFO ti;
		CK_SLOT_INFO si;
		start = now_ms();
		timed_call("C_GetSlotInfo", p11->C_GetSlotInfo(slots[i], &si), start);
		start = now_ms();
		timed_call("C_GetTokenInfo", p11->C_GetTokenInfo(slots[i], &ti), start);
	}
}

/* The application's mutexes, for --mutexes. */
static CK_RV app_create(CK_VOID_PTR_PTR out)
{
	pthread_mutex_t *m = malloc(sizeof(*m));
	if (m == NULL || pthread_mutex_init(m, NULL) != 0) {
		free(m);
		return CKR_HOST_MEMORY;
	}
	*out = m;
	return CKR_OK;
}

static CK_RV app_destroy(CK_VOID_PTR m)
{
	pthread_mutex_destroy(m);
	free(m);
	return CKR_OK;
}

static CK_RV app_lock(CK_VOID_PTR m)
{
	return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_MUTEX_BAD;
}

static CK_RV app_unlock(CK_VOID_PTR m)
{
	return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_MUTEX_NOT_LOCKED;
}

static bool load(const char *path, bool mutexes)
{
	p11 = kzt_load("kz-readers", path);
	if (p11 == NULL)
		return false;
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	if (mutexes)
		args =
		    (CK_C_INITIALIZE_ARGS){app_create, app_destroy, app_lock, app_unlock, 0, NULL};
	CK_RV rv = p11->C_Initialize(&args);
	if (rv != CKR_OK)
		fprintf(stderr, "kz-readers: C_Initialize: 0x%lx\n", rv);
	return rv == CKR_OK;
}

static int run(const opts *o)
{
	CK_SLOT_ID slots[READERS_MAX];
	reader_job jobs[READERS_MAX];
	pthread_t th[READERS_MAX];
	int found = 0;

	phase("wait for tokens");
	for (int waited = 0;
	     (found = token_slots(o->sign_key, o->skip, slots, o->readers)) < o->readers &&
	     waited < o->wait_ms;
	     waited += 100)
		kzt_sleep_ms(100);
	if (found < o->readers) {
		emit("{\"ev\":\"error\",\"what\":\"only %d of %d tokens\"}", found, o->readers);
		return 3;
	}
	phase("log in");
	for (int i = 0; i < o->readers; i++) {
		jobs[i] = (reader_job){.index = i, .slot = slots[i], .o = o};
		pthread_create(&th[i], NULL, reader_thread, &jobs[i]);
	}
	pthread_mutex_lock(&go_lock);
	while (ready_count < o->readers)
		pthread_cond_wait(&go_cond, &go_lock);
	pthread_mutex_unlock(&go_lock);
	phase("sign");
	double start = now_ms();
	set_flag(&go);
	if (o->stall >= 0) {
		/* Until the stalled reader is in its signature, and then some:
		 * its APDU reaches the phone within milliseconds. */
		pthread_mutex_lock(&go_lock);
		while (jobs[o->stall].ready && !jobs[o->stall].began)
			pthread_cond_wait(&go_cond, &go_lock);
		pthread_mutex_unlock(&go_lock);
		kzt_sleep_ms(300);
		start = now_ms();
	}
	set_flag(&stall_go);
	if (o->stall >= 0) {
		phase("list while stalled");
		list_calls(slots, o->readers, o->stall);
		phase("sign while stalled");
	}
	int done = 0, failed = 0;
	double end = start;
	for (int i = 0; i < o->readers; i++) {
		if (i == o->stall)
			continue;
		pthread_join(th[i], NULL);
		done += jobs[i].done;
		failed += jobs[i].failed;
		if (jobs[i].last_end > end)
			end = jobs[i].last_end;
	}
	double secs = (end - start) / 1000.0;
	emit("{\"ev\":\"summary\",\"readers\":%d,\"signatures\":%d,\"failed\":%d,"
	     "\"seconds\":%.3f,\"per_second\":%.3f}",
	     o->readers, done, failed, secs, secs > 0 ? done / secs : 0.0);
	phase("C_Finalize");
	double f = now_ms();
	CK_RV rv = p11->C_Finalize(NULL);
	emit("{\"ev\":\"finalize\",\"ms\":%.1f,\"rv\":\"0x%lx\"}", now_ms() - f, rv);
	phase(NULL);
	return failed == 0 && done > 0 ? 0 : 1;
}

static void usage(void)
{
	fputs("usage: kz-readers --module PATH [--readers N] [--count K] [--key sign|auth]\n"
	      "                  [--pin P] [--wait-ms MS] [--stall I] [--deadline-ms MS]\n"
	      "                  [--skip K] [--mutexes]\n",
	      stderr);
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"module", required_argument, NULL, 'm'}, {"readers", required_argument, NULL, 'r'},
	    {"count", required_argument, NULL, 'c'},  {"key", required_argument, NULL, 'k'},
	    {"pin", required_argument, NULL, 'p'},    {"wait-ms", required_argument, NULL, 'w'},
	    {"stall", required_argument, NULL, 's'},  {"deadline-ms", required_argument, NULL, 'd'},
	    {"skip", required_argument, NULL, 'K'},   {"mutexes", no_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	opts o = {.readers = 2,
	          .count = 6,
	          .stall = -1,
	          .wait_ms = 10000,
	          .deadline_ms = 60000,
	          .sign_key = true};
	const char *module = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'm':
			module = optarg;
			break;
		case 'r':
			o.readers = atoi(optarg);
			break;
		case 'c':
			o.count = atoi(optarg);
			break;
		case 'k':
			o.sign_key = strcmp(optarg, "auth") != 0;
			break;
		case 'p':
			o.pin = optarg;
			break;
		case 'w':
			o.wait_ms = atoi(optarg);
			break;
		case 's':
			o.stall = atoi(optarg);
			break;
		case 'd':
			o.deadline_ms = atoi(optarg);
			break;
		case 'K':
			o.skip = atoi(optarg);
			break;
		case 'M':
			o.mutexes = true;
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (module == NULL || o.readers < 1 || o.readers > READERS_MAX || o.count < 1 ||
	    o.stall >= o.readers || o.skip < 0 || (o.stall >= 0 && o.readers < 2) ||
	    o.deadline_ms < 1) {
		usage();
		return 2;
	}
	t0 = 0;
	t0 = now_ms();
	srand((unsigned)time(NULL));
	dog_limit_ms = o.deadline_ms;
	pthread_t dog;
	pthread_create(&dog, NULL, watchdog, NULL);
	phase("C_Initialize");
	if (!load(module, o.mutexes))
		return 3;
	int rc = run(&o);
	/* --stall: the stalled reader's thread may still be inside the
	 * module; do not wait for it, nor run destructors under it. */
	fflush(stdout);
	_exit(rc);
}
