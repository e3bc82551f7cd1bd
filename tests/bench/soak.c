/* kz-soak: days of a kiosk in minutes. One process keeps the module loaded
 * for N taps of the simulated phone: arrival, login, signature, the
 * signature verified under the certificate read through the module,
 * logout, departure; every 10th tap the phone leaves during the signature
 * instead. Every --every taps one JSON line: resident memory, open
 * descriptors, threads, failures so far, and the latency of that block's
 * taps; a summary line at the end.
 *
 *   kz-soak --pki DIR [--taps N] [--every K] [--max-rss-growth-kb KB]
 *       the module's code in-process, the phone as its reader back end
 *       (tests/sim/backend.c): no pcscd, no link delays
 *   kz-soak --module M --phone-pid PID [...]
 *       a built module (real pcscd + vpcd; tests/bench/soak-pcscd.sh); the
 *       phone is kazashi-phone-sim with --taps 0 and a long gap, moved by
 *       signals: SIGUSR2 enters the field, SIGUSR1 leaves it (on a torn
 *       tap, sent just before the signature)
 *
 * Exit status: 0 when no tap failed and descriptors and threads ended
 * where they were at the first report (and, with --max-rss-growth-kb, the
 * resident memory grew by less than that from the first report to the
 * last); 1 otherwise; 2 on misuse. A torn tap that ends with a clean
 * removal code and leaves the module ready for the next tap is not a
 * failure. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <dlfcn.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "backend.h"
#include "phone.h"
#include "pkcs11/p11.h"
#include "../flow/driver.h"

static CK_FUNCTION_LIST *p11;
static sim_phone *phone;  /* in-process only */
static pid_t phone_pid;   /* with --module */
static bool tear_on_sign; /* in-process: the phone leaves at the next signature */
static char failure_why[160];

/* ---- the process -------------------------------------------------------- */

static long status_field(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(name);
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;
	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n - 3; /* ".", "..", and the directory's own descriptor */
}

/* ---- the phone ------------------------------------------------------------ */

/* In-process: the phone's answers, except that on a torn tap it leaves
 * instead of answering COMPUTE DIGITAL SIGNATURE. */
static bool answer(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
	(void)ctx;
	if (tear_on_sign && cmd_len >= 2 && cmd[1] == 0x2A) {
		sim_phone_leave(phone);
		return false;
	}
	return sim_phone_transmit(phone, cmd, cmd_len, resp, resp_len);
}

static void phone_enter(void)
{
	if (phone_pid > 0) {
		kill(phone_pid, SIGUSR2);
		return;
	}
	sim_phone_reset(phone);
	sim_backend_tap();
}

static void phone_leave(void)
{
	if (phone_pid > 0) {
		kill(phone_pid, SIGUSR1);
		return;
	}
	sim_backend_leave();
}

/* ---- one tap ---------------------------------------------------------------- */

static bool fail(const char *what, CK_RV rv)
{
	snprintf(failure_why, sizeof(failure_why), "%s: 0x%lx", what, rv);
	return false;
}

/* Present slots of the user-authentication token: wait for n of them
 * (2 on arrival, 0 after departure), at most timeout_ms. */
static bool wait_slots(CK_ULONG want, int timeout_ms, CK_SLOT_ID *first)
{
	double t0 = kzt_now_ms();
	for (;;) {
		CK_SLOT_ID slots[8];
		CK_ULONG n = 8;
		CK_RV rv = p11->C_GetSlotList(CK_TRUE, slots, &n);
		if (rv != CKR_OK)
			return fail("C_GetSlotList", rv);
		if (n == want) {
			if (n > 0 && first != NULL)
				*first = slots[0];
			return true;
		}
		if (kzt_now_ms() - t0 > timeout_ms) {
			snprintf(failure_why, sizeof(failure_why), "%lu present slots, not %lu", n,
			         want);
			return false;
		}
		kzt_sleep_ms(phone_pid > 0 ? 10 : 0);
	}
}

static CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls)
{
	CK_ATTRIBUTE tmpl = {CKA_CLASS, &cls, sizeof(cls)};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG n = 0;
	if (p11->C_FindObjectsInit(s, &tmpl, 1) != CKR_OK)
		return CK_INVALID_HANDLE;
	if (p11->C_FindObjects(s, &h, 1, &n) != CKR_OK || n != 1)
		h = CK_INVALID_HANDLE;
	p11->C_FindObjectsFinal(s);
	return h;
}

/* The signature under the certificate the token shows. */
static bool verifies(CK_SESSION_HANDLE s, const uint8_t *data, size_t len, const uint8_t *sig,
                     size_t sig_len)
{
	CK_OBJECT_HANDLE cert = find_one(s, CKO_CERTIFICATE);
	uint8_t der[4096];
	CK_ATTRIBUTE value = {CKA_VALUE, der, sizeof(der)};
	if (cert == CK_INVALID_HANDLE || p11->C_GetAttributeValue(s, cert, &value, 1) != CKR_OK)
		return fail("reading the certificate", CKR_GENERAL_ERROR);
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)value.ulValueLen);
	EVP_PKEY *key = x ? X509_get_pubkey(x) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = key != NULL && md != NULL &&
	          EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	          EVP_DigestVerify(md, sig, sig_len, data, len) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	X509_free(x);
	return ok ? true : fail("the signature does not verify", CKR_SIGNATURE_INVALID);
}

static bool removal_code(CK_RV rv)
{
	return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT ||
	       rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
	       rv == CKR_DEVICE_ERROR;
}

/* One tap; false (failure_why says why) when anything went otherwise than
 * a kiosk expects. */
static bool one_tap(bool torn)
{
	CK_SLOT_ID slot = 0;
	CK_SESSION_HANDLE s;
	CK_RV rv;
	phone_enter();
	if (!wait_slots(2, 5000, &slot))
		return false;
	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK)
		return fail("C_OpenSession", rv);
	bool ok = false;
	rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4);
	CK_OBJECT_HANDLE key = rv == CKR_OK ? find_one(s, CKO_PRIVATE_KEY) : CK_INVALID_HANDLE;
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	uint8_t data[32], sig[512];
	CK_ULONG sig_len = sizeof(sig);
	RAND_bytes(data, sizeof(data));
	if (rv != CKR_OK)
		fail("C_Login", rv);
	else if (key == CK_INVALID_HANDLE)
		fail("no private key", CKR_GENERAL_ERROR);
	else if ((rv = p11->C_SignInit(s, &mech, key)) != CKR_OK)
		fail("C_SignInit", rv);
	else {
		if (torn) {
			tear_on_sign = true;
			if (phone_pid > 0) {
				phone_leave();
				kzt_sleep_ms(20);
			}
		}
		rv = p11->C_Sign(s, data, sizeof(data), sig, &sig_len);
		tear_on_sign = false;
		if (torn)
			ok = removal_code(rv) ? true : fail("torn C_Sign", rv);
		else if (rv != CKR_OK)
			fail("C_Sign", rv);
		else if (verifies(s, data, sizeof(data), sig, sig_len)) {
			rv = p11->C_Logout(s);
			ok = rv == CKR_OK ? true : fail("C_Logout", rv);
		}
	}
	rv = p11->C_CloseSession(s);
	if (ok && rv != CKR_OK && !(torn && removal_code(rv)))
		ok = fail("C_CloseSession", rv);
	if (!torn || phone_pid <= 0)
		phone_leave(); /* over pcscd a torn tap's phone has left already */
	if (!wait_slots(0, 5000, NULL))
		ok = false;
	return ok;
}

/* ---- the run ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void usage(void)
{
	fputs("usage: kz-soak --pki DIR [--taps N] [--every K] [--max-rss-growth-kb KB]\n"
	      "       kz-soak --module M --phone-pid PID [--taps N] [--every K] [...]\n",
	      stderr);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pki", required_argument, NULL, 'p'},
	    {"module", required_argument, NULL, 'm'},
	    {"phone-pid", required_argument, NULL, 'P'},
	    {"taps", required_argument, NULL, 'n'},
	    {"every", required_argument, NULL, 'e'},
	    {"max-rss-growth-kb", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	const char *pki = NULL, *module = NULL;
	long taps = 10000, every = 1000, max_growth_kb = -1;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pki = optarg;
			break;
		case 'm':
			module = optarg;
			break;
		case 'P':
			phone_pid = (pid_t)atol(optarg);
			break;
		case 'n':
			taps = atol(optarg);
			break;
		case 'e':
			every = atol(optarg);
			break;
		case 'r':
			max_growth_kb = atol(optarg);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (taps <= 0 || every <= 0 || (module == NULL && pki == NULL) ||
	    (module != NULL && phone_pid <= 0)) {
		usage();
		return 2;
	}

	if (module != NULL) {
		p11 = kzt_load("kz-soak", module);
		if (p11 == NULL)
			return 2;
	} else {
		sim_config cfg = {.persona = SIM_PERSONA_ANDROID, .pki_dir = pki};
		phone = sim_phone_new(&cfg);
		if (phone == NULL)
			return 2;
		sim_backend_install();
		sim_backend_use_function(answer, NULL);
		if (C_GetFunctionList(&p11) != CKR_OK)
			return 2;
	}
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_RV rv = p11->C_Initialize(&args);
	if (rv != CKR_OK) {
		fprintf(stderr, "kz-soak: C_Initialize: 0x%lx\n", rv);
		return 2;
	}

	double *lat = calloc((size_t)every, sizeof(double));
	if (lat == NULL)
		return 2;
	long failures = 0, torn = 0, first_rss = -1, first_fds = -1, first_threads = -1;
	long rss = 0, fds = 0, threads = 0;
	double t_run = kzt_now_ms(), torn_sum = 0, clean_sum = 0;
	long torn_n = 0, clean_n = 0; /* in this block */
	for (long i = 1; i <= taps; i++) {
		bool tear = i % 10 == 0;
		double t0 = kzt_now_ms();
		if (!one_tap(tear)) {
			failures++;
			if (failures <= 10)
				fprintf(stderr, "kz-soak: tap %ld%s failed: %s\n", i,
				        tear ? " (torn)" : "", failure_why);
		}
		torn += tear;
		lat[(i - 1) % every] = kzt_now_ms() - t0;
		if (tear)
			torn_sum += lat[(i - 1) % every], torn_n++;
		else
			clean_sum += lat[(i - 1) % every], clean_n++;
		if (i % every != 0 && i != taps)
			continue;
		size_t n = (size_t)((i - 1) % every + 1);
		qsort(lat, n, sizeof(double), cmp_double);
		double sum = 0;
		for (size_t k = 0; k < n; k++)
			sum += lat[k];
		rss = status_field("VmRSS");
		fds = open_fds();
		threads = status_field("Threads");
		if (first_rss < 0) {
			first_rss = rss;
			first_fds = fds;
			first_threads = threads;
		}
		printf("{\"taps\":%ld,\"rss_kb\":%ld,\"fds\":%ld,\"threads\":%ld,\"failures\":%ld,"
		       "\"torn\":%ld,\"ms_mean\":%.3f,\"ms_p50\":%.3f,\"ms_p99\":%.3f,"
		       "\"ms_max\":%.3f,\"ms_mean_clean\":%.3f,\"ms_mean_torn\":%.3f}\n",
		       i, rss, fds, threads, failures, torn, sum / (double)n, lat[n / 2],
		       lat[(size_t)((double)(n - 1) * 0.99)], lat[n - 1],
		       clean_n ? clean_sum / (double)clean_n : 0.0,
		       torn_n ? torn_sum / (double)torn_n : 0.0);
		torn_sum = clean_sum = 0;
		torn_n = clean_n = 0;
		fflush(stdout);
	}
	rv = p11->C_Finalize(NULL);
	if (rv != CKR_OK)
		failures++;
	bool flat = fds == first_fds && threads == first_threads;
	bool rss_ok = max_growth_kb < 0 || rss - first_rss < max_growth_kb;
	printf("{\"summary\":true,\"back_end\":\"%s\",\"taps\":%ld,\"torn\":%ld,\"failures\":%ld,"
	       "\"rss_first_kb\":%ld,\"rss_last_kb\":%ld,\"rss_growth_kb\":%ld,\"fds_first\":%ld,"
	       "\"fds_last\":%ld,\"threads_first\":%ld,\"threads_last\":%ld,\"seconds\":%.1f,"
	       "\"finalize\":\"0x%lx\"}\n",
	       module ? "pcsc" : "in-process", taps, torn, failures, first_rss, rss,
	       rss - first_rss, first_fds, fds, first_threads, threads,
	       (kzt_now_ms() - t_run) / 1000.0, rv);
	free(lat);
	if (phone != NULL)
		sim_phone_free(phone);
	return failures == 0 && flat && rss_ok ? 0 : 1;
}
