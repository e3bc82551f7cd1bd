/* PINs never leave the module in the clear: a full flow with the most
 * verbose logging and the APDU trace on, and the PINs (right, wrong,
 * malformed, lower-cased, old and new) appear nowhere in what the module
 * wrote: not in its log file, not on stderr (KAZASHI_DEBUG), not in any
 * other file of its working, home or temporary directory. The PINs are
 * distinctive so that no accidental match is possible, and they are
 * looked for as text and as the hex the trace would print.
 *
 * The same for the real module behind pcscd: tests/integration/secrets.sh. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend.h"
#include "phone.h"
#include "pkcs11/p11.h"
#include "testpki.h"

#define AUTH_PIN "4826"
#define SIGN_PIN "QZ7X9K2M"

/* Every secret the flow types, and the phone's PINs. */
static const char *const secrets[] = {
    AUTH_PIN, SIGN_PIN,   "qz7x9k2m", /* lower case: upper-cased by the module */
    "7391",                           /* a wrong PIN */
    "48A6",                           /* a malformed one, refused before sending */
    "5173",   "W4R8T2KJ",             /* new PINs of C_SetPIN */
};

#define PIN(s) (CK_UTF8CHAR_PTR)(s), (CK_ULONG)strlen(s)

static CK_FUNCTION_LIST *F;
static char *pki;
static char dir[4096]; /* the module's working, home and temporary directory */
static char log_path[4200];
static char err_path[4200];
static sim_phone *phone;
static bool phone_gone; /* answer nothing: the phone left */

static bool answer(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
	(void)ctx;
	static uint8_t buf[SIM_RESP_MAX];
	size_t n = 0;
	if (phone_gone || !sim_phone_transmit(phone, cmd, cmd_len, buf, &n) || n > *resp_len)
		return false;
	memcpy(resp, buf, n);
	*resp_len = n;
	return true;
}

static CK_SESSION_HANDLE session(CK_SLOT_ID slot)
{
	CK_SESSION_HANDLE h;
	assert_int_equal(
	    F->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h), CKR_OK);
	return h;
}

static void sign(CK_SESSION_HANDLE h, CK_SLOT_ID slot)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t = {CKA_CLASS, &cls, sizeof cls};
	CK_OBJECT_HANDLE key;
	CK_ULONG n = 0;
	assert_int_equal(F->C_FindObjectsInit(h, &t, 1), CKR_OK);
	assert_int_equal(F->C_FindObjects(h, &key, 1, &n), CKR_OK);
	assert_int_equal(F->C_FindObjectsFinal(h), CKR_OK);
	assert_int_equal(n, 1);
	CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
	assert_int_equal(F->C_SignInit(h, &m, key), CKR_OK);
	if (slot == 1)
		assert_int_equal(F->C_Login(h, CKU_CONTEXT_SPECIFIC, PIN("qz7x9k2m")), CKR_OK);
	uint8_t sig[256];
	CK_ULONG len = sizeof sig;
	assert_int_equal(F->C_Sign(h, (CK_BYTE_PTR) "data", 4, sig, &len), CKR_OK);
}

/* The flow: every path a PIN takes through the module. */
static void flow(void)
{
	CK_ULONG n = 0;
	assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	assert_int_equal(n, 2);

	CK_SESSION_HANDLE a = session(0);
	assert_int_equal(F->C_Login(a, CKU_USER, PIN("48A6")), CKR_PIN_INVALID);
	assert_int_equal(F->C_Login(a, CKU_USER, PIN("7391")), CKR_PIN_INCORRECT);
	assert_int_equal(F->C_Login(a, CKU_USER, PIN(AUTH_PIN)), CKR_OK);
	sign(a, 0);
	assert_int_equal(F->C_SetPIN(a, PIN(AUTH_PIN), PIN("5173")), CKR_OK);
	assert_int_equal(F->C_SetPIN(a, PIN("5173"), PIN(AUTH_PIN)), CKR_OK);
	assert_int_equal(F->C_Logout(a), CKR_OK);

	CK_SESSION_HANDLE s = session(1);
	assert_int_equal(F->C_Login(s, CKU_USER, PIN("qz7x9k2m")), CKR_OK);
	sign(s, 1);
	assert_int_equal(F->C_SetPIN(s, PIN(SIGN_PIN), PIN("W4R8T2KJ")), CKR_OK);
	assert_int_equal(F->C_SetPIN(s, PIN("W4R8T2KJ"), PIN(SIGN_PIN)), CKR_OK);
	assert_int_equal(F->C_Logout(s), CKR_OK);

	/* The phone leaves as the VERIFY goes out: the failed exchange is
	 * traced (command only) and logged. */
	phone_gone = true;
	assert_int_equal(F->C_Login(a, CKU_USER, PIN(AUTH_PIN)), CKR_DEVICE_REMOVED);
	phone_gone = false;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	assert_non_null(buf);
	for (size_t r; (r = fread(buf + n, 1, cap - n, f)) > 0;) {
		n += r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static bool holds(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

/* text as the trace prints bytes ("34 38 32 36"), and in other hex forms. */
static void hex_forms(const char *text, char spaced[64], char upper[64], char lower[64])
{
	static const char U[] = "0123456789ABCDEF", L[] = "0123456789abcdef";
	size_t n = strlen(text);
	for (size_t i = 0; i < n; i++) {
		uint8_t b = (uint8_t)text[i];
		spaced[3 * i] = U[b >> 4];
		spaced[3 * i + 1] = U[b & 15];
		spaced[3 * i + 2] = ' ';
		upper[2 * i] = U[b >> 4];
		upper[2 * i + 1] = U[b & 15];
		lower[2 * i] = L[b >> 4];
		lower[2 * i + 1] = L[b & 15];
	}
	spaced[n > 0 ? 3 * n - 1 : 0] = '\0';
	upper[2 * n] = lower[2 * n] = '\0';
}

/* No secret in the file, in any form. The log's "kazashi[PID]:" prefix is
 * left out: a process id is not a PIN, even when it has the same digits. */
static void no_secret_in(const char *path)
{
	size_t len = 0;
	char *text = slurp(path, &len);
	for (char *p = text; p < text + len; p++)
		if (strncmp(p, "kazashi[", 8) == 0)
			for (char *q = p + 8; q < text + len && *q != ']'; q++)
				*q = 'x';
	for (size_t i = 0; i < KZ_ARRAY_LEN(secrets); i++) {
		char spaced[64], upper[64], lower[64];
		hex_forms(secrets[i], spaced, upper, lower);
		if (holds(text, len, secrets[i]) || holds(text, len, spaced) ||
		    holds(text, len, upper) || holds(text, len, lower)) {
			fprintf(stderr, "test-p11-secrets: secret #%zu found in %s\n", i, path);
			fail();
		}
	}
	free(text);
}

/* The trace was really on: VERIFY and CHANGE REFERENCE DATA went by,
 * their bodies as asterisks. Without this the test could pass by logging
 * nothing at all. */
static void trace_seen(const char *path)
{
	size_t len = 0;
	char *text = slurp(path, &len);
	assert_true(holds(text, len, "apdu > 00 20 00 80 04 ** ** ** **"));
	assert_true(holds(text, len, "apdu > 00 20 00 80 08 ** ** ** ** ** ** ** **"));
	assert_true(holds(text, len, "apdu > 00 24 01 80 04 ** ** ** **"));
	assert_true(holds(text, len, "apdu > 00 2A") || holds(text, len, "apdu > 80 2A"));
	free(text);
}

static void start(const char *words)
{
	sim_config cfg = {.persona = SIM_PERSONA_ANDROID,
	                  .pki_dir = pki,
	                  .auth_pin = AUTH_PIN,
	                  .sign_pin = SIGN_PIN};
	phone = sim_phone_new(&cfg);
	assert_non_null(phone);
	sim_backend_install();
	sim_backend_use_function(answer, NULL);
	sim_backend_tap();
	CK_C_INITIALIZE_ARGS args = {.pReserved = (void *)words};
	assert_int_equal(F->C_Initialize(&args), CKR_OK);
}

static void stop(void)
{
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
	sim_backend_leave();
	sim_phone_free(phone);
	phone = NULL;
}

/* Only what the test itself made is there: the module wrote nothing
 * else, anywhere it could. */
static void nothing_else_written(void)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, "kazashi.log") == 0 || strcmp(e->d_name, "stderr.log") == 0)
			continue;
		fprintf(stderr, "test-p11-secrets: the module wrote %s/%s\n", dir, e->d_name);
		fail();
	}
	closedir(d);
}

/* log_level=debug, apdu_trace=yes, into a file named in the configuration. */
static void test_log_file(void **state)
{
	(void)state;
	char words[4400];
	snprintf(words, sizeof words,
	         "log_level=debug apdu_trace=yes certificate_cache=no log_file=%s", log_path);
	start(words);
	flow();
	stop();
	trace_seen(log_path);
	no_secret_in(log_path);
	nothing_else_written();
}

/* KAZASHI_DEBUG=1: everything, trace included, to stderr. */
static void test_debug_stderr(void **state)
{
	(void)state;
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	setenv("KAZASHI_DEBUG", "1", 1);
	start("certificate_cache=no");
	flow();
	stop();
	unsetenv("KAZASHI_DEBUG");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	trace_seen(err_path);
	no_secret_in(err_path);
	nothing_else_written();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_log_file),
	    cmocka_unit_test(test_debug_stderr),
	};
	setenv("KAZASHI_CONF", "/dev/null", 1);
	unsetenv("KAZASHI_DEBUG");
	pki = testpki_make();
	if (pki == NULL)
		return 1;
	/* The module's whole world: cwd, $HOME and $TMPDIR in one new
	 * directory, so that any file it made would show. */
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/kz-secrets.XXXXXX", tmp != NULL ? tmp : "/tmp");
	char cwd[4096];
	if (mkdtemp(dir) == NULL || getcwd(cwd, sizeof cwd) == NULL || chdir(dir) != 0)
		return 1;
	snprintf(log_path, sizeof log_path, "%s/kazashi.log", dir);
	snprintf(err_path, sizeof err_path, "%s/stderr.log", dir);
	setenv("HOME", dir, 1);
	setenv("TMPDIR", dir, 1);
	C_GetFunctionList(&F);
	int rc = cmocka_run_group_tests_name("p11-secrets", tests, NULL, NULL);
	unlink(log_path);
	unlink(err_path);
	if (chdir(cwd) != 0 || rmdir(dir) != 0)
		rc = 1;
	testpki_remove(pki);
	return rc;
}
