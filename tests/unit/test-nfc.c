/* The libnfc back end against the real libnfc and the emulated PN532
 * (tests/sim/kazashi-pn532-sim on a pty): limits, exchanges, departures
 * between two APDUs, a re-tap nobody saw, waits and their cancel, a device
 * that goes and comes back, a port another process holds, and the module's
 * C_WaitForSlotEvent over it. Each test starts its own emulator. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pkcs11/p11.h"
#include "reader/reader.h"
#include "testpki.h"
#include "util/log.h"

static const uint8_t select_ap[] = {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0,
                                    0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};

static char *pki;
static char dir[] = "/tmp/kz-test-nfc.XXXXXX";
static char link_path[64], conn[80], reader_name[96], sim_log[64];
static pid_t sim = -1;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

/* ---- the emulator ------------------------------------------------------------- */

static void sim_stop(void)
{
	if (sim <= 0)
		return;
	kill(sim, SIGTERM);
	waitpid(sim, NULL, 0);
	sim = -1;
}

/* Start kazashi-pn532-sim on a new pty linked at link_path; the phone is in
 * the field unless absent. It comes back only on SIGUSR2. */
static void sim_start(bool absent)
{
	const char *top = getenv("top_builddir");
	char prog[512];
	char *argv[12];
	struct stat st;
	int i = 0;

	snprintf(prog, sizeof(prog), "%s/tests/sim/kazashi-pn532-sim", top ? top : ".");
	argv[i++] = prog;
	argv[i++] = (char *)"--pki";
	argv[i++] = pki;
	argv[i++] = (char *)"--pty-link";
	argv[i++] = link_path;
	argv[i++] = (char *)"--taps";
	argv[i++] = (char *)"0";
	argv[i++] = (char *)"--tap-gap-ms";
	argv[i++] = (char *)"3600000";
	if (absent)
		argv[i++] = (char *)"--absent";
	argv[i] = NULL;
	sim_stop(); /* one a test left behind when it failed */
	unlink(link_path);
	sim = fork();
	assert_true(sim >= 0);
	if (sim == 0) {
		/* Dies with the test, and holds none of its output open: a
		 * test harness waits for every writer of its pipe to end. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (freopen("/dev/null", "w", stdout) == NULL ||
		    freopen(sim_log, "a", stderr) == NULL)
			_exit(126);
		execv(prog, argv);
		_exit(127);
	}
	for (int k = 0; k < 200 && lstat(link_path, &st) != 0; k++)
		sleep_ms(10);
	assert_int_equal(lstat(link_path, &st), 0);
}

static void sim_signal(int sig)
{
	assert_int_equal(kill(sim, sig), 0);
	sleep_ms(20); /* the emulator handles it before the next frame */
}

/* ---- back-end helpers ------------------------------------------------------------ */

static kz_backend *open_be(const char *options)
{
	kz_backend *b = NULL;

	assert_int_equal(kz_nfc_backend.open(options, &b), KZ_OK);
	assert_non_null(b);
	return b;
}

/* The one reader's state; false if the back end shows none. */
static bool one_reader(kz_backend *b, kz_reader_state *st)
{
	kz_reader_state all[4];
	size_t n = 0;

	assert_int_equal(kz_nfc_backend.list(b, all, 4, &n), KZ_OK);
	assert_true(n <= 1);
	if (n == 1)
		*st = all[0];
	return n == 1;
}

static kz_err select_app(kz_link *l)
{
	uint8_t resp[300];
	size_t len = sizeof(resp);
	kz_err e =
	    l->transport.transmit(l->transport.ctx, select_ap, sizeof(select_ap), resp, &len);

	if (e == KZ_OK) {
		assert_int_equal(len, 2);
		assert_int_equal(resp[0], 0x90);
	}
	return e;
}

/* ---- tests ------------------------------------------------------------------------ */

static void no_device(void **state)
{
	kz_reader_state st;
	uint64_t t0;
	kz_backend *b;

	(void)state;
	/* Named but not there: opens quietly, no reader, waits time out. */
	b = open_be("pn532_uart:/nonexistent/port");
	assert_false(one_reader(b, &st));
	t0 = now_ms();
	assert_int_equal(kz_nfc_backend.wait(b, NULL, 0, 300), KZ_E_TIMEOUT);
	assert_true(now_ms() - t0 >= 250);
	kz_nfc_backend.close(b);
}

static void limits_and_exchange(void **state)
{
	uint8_t big[263] = {0x00, 0xD6, 0x00, 0x00, 0xFF}, resp[300];
	size_t len = sizeof(resp);
	kz_reader_state st;
	kz_link *l = NULL;
	kz_backend *b;
	bool reset = true;

	(void)state;
	sim_start(false);
	b = open_be(conn);
	assert_true(one_reader(b, &st));
	assert_string_equal(st.name, reader_name);
	assert_true(st.card_present);
	assert_int_equal(kz_nfc_backend.connect(b, reader_name, &l), KZ_OK);
	assert_int_equal(l->transport.max_cmd, 262);
	assert_int_equal(l->transport.max_resp, 258);
	assert_false(l->transport.extended_ok);
	/* Never handed to libnfc: 263 bytes would overflow its buffer. */
	assert_int_equal(l->transport.transmit(l->transport.ctx, big, sizeof(big), resp, &len),
	                 KZ_E_DATA_LEN);
	assert_int_equal(kz_nfc_backend.begin(l, &reset), KZ_OK);
	assert_false(reset);
	assert_int_equal(select_app(l), KZ_OK);
	kz_nfc_backend.end(l);
	assert_true(kz_nfc_backend.present(l));
	kz_nfc_backend.disconnect(l);
	assert_int_equal(kz_nfc_backend.connect(b, "libnfc nothing", &l), KZ_E_NO_READER);
	assert_null(l);
	kz_nfc_backend.close(b);
	sim_stop();
}

/* The phone leaves between two APDUs and comes back: the old link is dead
 * for good, the back end counts a departure and an arrival, a new link
 * works. */
static void leave_and_return(void **state)
{
	kz_reader_state st, before;
	kz_link *l = NULL, *l2 = NULL;
	kz_backend *b;
	bool reset;

	(void)state;
	sim_start(false);
	b = open_be(conn);
	assert_true(one_reader(b, &before));
	assert_int_equal(kz_nfc_backend.connect(b, reader_name, &l), KZ_OK);
	assert_int_equal(select_app(l), KZ_OK);
	sim_signal(SIGUSR1);
	assert_int_equal(select_app(l), KZ_E_REMOVED);
	assert_false(kz_nfc_backend.present(l));
	assert_int_equal(kz_nfc_backend.begin(l, &reset), KZ_E_REMOVED);
	assert_true(one_reader(b, &st));
	assert_false(st.card_present);
	assert_int_equal(st.event_count, before.event_count + 1);
	assert_int_equal(kz_nfc_backend.connect(b, reader_name, &l2), KZ_E_NO_CARD);

	/* Nothing changes: the wait times out. Then the phone is back. */
	assert_int_equal(kz_nfc_backend.wait(b, &st, 1, 400), KZ_E_TIMEOUT);
	sim_signal(SIGUSR2);
	assert_int_equal(kz_nfc_backend.wait(b, &st, 1, 3000), KZ_OK);
	assert_true(one_reader(b, &st));
	assert_true(st.card_present);
	assert_int_equal(st.event_count, before.event_count + 2);
	assert_int_equal(select_app(l), KZ_E_REMOVED);
	assert_int_equal(kz_nfc_backend.connect(b, reader_name, &l2), KZ_OK);
	assert_int_equal(select_app(l2), KZ_OK);
	kz_nfc_backend.disconnect(l);
	kz_nfc_backend.disconnect(l2);
	kz_nfc_backend.close(b);
	sim_stop();
}

/* Away and back between two looks: the next look sees a departure and an
 * arrival, never the same tap. */
static void retap_unseen(void **state)
{
	kz_reader_state st, before;
	kz_link *l = NULL;
	kz_backend *b;

	(void)state;
	sim_start(false);
	b = open_be(conn);
	assert_true(one_reader(b, &before));
	assert_int_equal(kz_nfc_backend.connect(b, reader_name, &l), KZ_OK);
	assert_int_equal(select_app(l), KZ_OK);
	sim_signal(SIGUSR1);
	sim_signal(SIGUSR2);
	sleep_ms(450); /* older than what present() trusts */
	assert_false(kz_nfc_backend.present(l));
	assert_true(one_reader(b, &st));
	assert_true(st.card_present);
	assert_int_equal(st.event_count, before.event_count + 2);
	kz_nfc_backend.disconnect(l);
	kz_nfc_backend.close(b);
	sim_stop();
}

struct waiter {
	kz_backend *b;
	kz_reader_state known;
	kz_err e;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->e = kz_nfc_backend.wait(w->b, &w->known, 1, 10000);
	return NULL;
}

static void wait_and_cancel(void **state)
{
	struct waiter w = {0};
	pthread_t t;
	uint64_t t0;

	(void)state;
	sim_start(true);
	w.b = open_be(conn);
	assert_true(one_reader(w.b, &w.known));
	assert_false(w.known.card_present);

	/* A tap wakes a waiter. */
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	sleep_ms(300);
	t0 = now_ms();
	sim_signal(SIGUSR2);
	pthread_join(t, NULL);
	assert_int_equal(w.e, KZ_OK);
	assert_true(now_ms() - t0 < 2000);

	/* So does a departure. */
	assert_true(one_reader(w.b, &w.known));
	assert_true(w.known.card_present);
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	sleep_ms(300);
	sim_signal(SIGUSR1);
	pthread_join(t, NULL);
	assert_int_equal(w.e, KZ_OK);

	/* cancel() releases a waiter at once. */
	assert_true(one_reader(w.b, &w.known));
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	sleep_ms(300);
	t0 = now_ms();
	kz_nfc_backend.cancel(w.b);
	pthread_join(t, NULL);
	assert_int_equal(w.e, KZ_E_CANCELLED);
	assert_true(now_ms() - t0 < 1000);
	kz_nfc_backend.close(w.b);
	sim_stop();
}

/* The emulator ends (a reader unplugged) and a new one takes the same
 * port: the reader goes, then comes back under the same name. */
static void device_lost_and_back(void **state)
{
	kz_reader_state st;
	kz_link *l = NULL;
	kz_backend *b;
	bool back = false;

	(void)state;
	sim_start(false);
	b = open_be(conn);
	assert_true(one_reader(b, &st));
	assert_int_equal(kz_nfc_backend.connect(b, reader_name, &l), KZ_OK);
	sim_stop();
	assert_int_equal(select_app(l), KZ_E_REMOVED);
	assert_false(one_reader(b, &st));
	kz_nfc_backend.disconnect(l);
	sim_start(false);
	for (int i = 0; i < 40 && !back; i++) {
		sleep_ms(100);
		back = one_reader(b, &st);
	}
	assert_true(back);
	assert_string_equal(st.name, reader_name);
	assert_true(st.card_present);
	kz_nfc_backend.close(b);
	sim_stop();
}

/* Two programs on one port would reset each other's phone: a second one
 * waits until the first lets go. The first is another process here, as in
 * life; two libnfc contexts in one process cannot come and go
 * independently anyway (nfc_exit frees libnfc's global driver list). */
static void port_held_elsewhere(void **state)
{
	kz_reader_state st;
	kz_backend *b;
	int up[2], down[2];
	bool got = false;
	char c = 0;
	pid_t holder;

	(void)state;
	sim_start(false);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	holder = fork();
	assert_true(holder >= 0);
	if (holder == 0) {
		kz_backend *mine = NULL;
		kz_reader_state s1;
		size_t n = 0;

		if (kz_nfc_backend.open(conn, &mine) != KZ_OK ||
		    kz_nfc_backend.list(mine, &s1, 1, &n) != KZ_OK || n != 1)
			_exit(1);
		c = 1;
		if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(2);
		kz_nfc_backend.close(mine);
		_exit(0);
	}
	assert_int_equal(read(up[0], &c, 1), 1);
	b = open_be(conn);
	assert_false(one_reader(b, &st));
	assert_int_equal(write(down[1], &c, 1), 1);
	assert_int_equal(waitpid(holder, NULL, 0), holder);
	for (int i = 0; i < 40 && !got; i++) {
		sleep_ms(100);
		got = one_reader(b, &st);
	}
	assert_true(got);
	assert_true(st.card_present);
	kz_nfc_backend.close(b);
	for (int i = 0; i < 2; i++) {
		close(up[i]);
		close(down[i]);
	}
	sim_stop();
}

/* ---- the module over libnfc --------------------------------------------------------- */

static CK_FUNCTION_LIST *p11;

/* The module under test ($KZ_MODULE, else the build's), loaded as a
 * relying party would. */
static void load_module(void)
{
	const char *path = getenv("KZ_MODULE"); /* the harness's choice, as for the shell tests */
	const char *top = getenv("top_builddir");
	char buf[512];
	CK_C_GetFunctionList get;
	void *h;

	if (path == NULL || *path == '\0') {
		snprintf(buf, sizeof(buf), "%s/src/.libs/kazashi-pkcs11.so", top ? top : ".");
		path = buf;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	assert_non_null(get);
	assert_int_equal(get(&p11), CKR_OK);
}

struct slot_waiter {
	CK_FLAGS flags;
	CK_SLOT_ID slot;
	CK_RV rv;
};

static void *slot_wait_thread(void *arg)
{
	struct slot_waiter *w = arg;

	w->rv = p11->C_WaitForSlotEvent(w->flags, &w->slot, NULL);
	return NULL;
}

/* Blocking C_WaitForSlotEvent across a tap and a departure; the other
 * slot's event is there without blocking; C_Finalize frees a waiter. */
static void module_slot_events(void **state)
{
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	struct slot_waiter w = {0};
	char conf[128];
	CK_SLOT_ID slots[8], first;
	CK_ULONG n = 8;
	FILE *f;
	pthread_t t;

	(void)state;
	snprintf(conf, sizeof(conf), "%s/kazashi.conf", dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "pcsc = no\nnfc_device = %s\n", conn);
	fclose(f);
	setenv("KAZASHI_CONF", conf, 1);
	sim_start(true);
	load_module();
	assert_int_equal(p11->C_Initialize(&args), CKR_OK);
	assert_int_equal(p11->C_GetSlotList(CK_FALSE, slots, &n), CKR_OK);
	assert_int_equal(n, 2);
	w.flags = CKF_DONT_BLOCK;
	slot_wait_thread(&w);
	assert_int_equal(w.rv, CKR_NO_EVENT);

	for (int round = 0; round < 2; round++) {
		w.flags = 0;
		assert_int_equal(pthread_create(&t, NULL, slot_wait_thread, &w), 0);
		sleep_ms(300);
		sim_signal(round == 0 ? SIGUSR2 : SIGUSR1);
		pthread_join(t, NULL);
		assert_int_equal(w.rv, CKR_OK);
		first = w.slot;
		assert_true(first == slots[0] || first == slots[1]);
		w.flags = CKF_DONT_BLOCK;
		slot_wait_thread(&w);
		assert_int_equal(w.rv, CKR_OK);
		assert_true(w.slot != first && (w.slot == slots[0] || w.slot == slots[1]));
		slot_wait_thread(&w);
		assert_int_equal(w.rv, CKR_NO_EVENT);
		n = 8;
		assert_int_equal(p11->C_GetSlotList(CK_TRUE, slots + 2, &n), CKR_OK);
		assert_int_equal(n, round == 0 ? 2 : 0);
	}

	w.flags = 0;
	assert_int_equal(pthread_create(&t, NULL, slot_wait_thread, &w), 0);
	sleep_ms(300);
	assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
	pthread_join(t, NULL);
	assert_true(w.rv == CKR_CRYPTOKI_NOT_INITIALIZED || w.rv == CKR_FUNCTION_CANCELED);
	unsetenv("KAZASHI_CONF");
	unlink(conf);
	sim_stop();
}

/* The whole file, malloc'ed; "" if it does not exist. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n = 0;

	assert_non_null(buf);
	if (f != NULL) {
		n = fread(buf, 1, 65535, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* libnfc at debug level prints every frame on stderr, the PIN of each
 * VERIFY in hex: the back end says so in the module's log when it opens.
 * Each two bits of LIBNFC_LOG_LEVEL are a level (3 = debug), for all of
 * libnfc or for one part of it; libnfc parses it with atoi. */
static void libnfc_debug_warned(void **state)
{
	static const struct {
		const char *level;
		bool warned;
	} cases[] = {
	    {"3", true},
	    {"1", false},
	    {"2", false},
	    {"0", false},
	    {"3072", true} /* the serial link's part only */,
	    {"-1", true} /* atoi: every bit */,
	    {"1024", false} /* that part at error */,
	};
	char log[sizeof(dir) + 16];
	char *text;

	(void)state;
	snprintf(log, sizeof(log), "%s/module.log", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unlink(log);
		kz_log_configure(KZ_LOG_WARN, log, false);
		setenv("LIBNFC_LOG_LEVEL", cases[i].level, 1);
		kz_nfc_backend.close(open_be("pn532_uart:/nonexistent/port"));
		kz_log_configure(KZ_LOG_ERROR, NULL, false);
		text = slurp(log);
		if (cases[i].warned) {
			assert_non_null(strstr(text, "WARN: nfc: libnfc's log level is debug"));
			assert_non_null(strstr(text, "PINs included"));
		} else {
			assert_null(strstr(text, "libnfc's log level"));
		}
		free(text);
	}
	/* libnfc.conf's log_level is caught the same way: nfc_init writes
	 * the level it settled on back into LIBNFC_LOG_LEVEL. */
	unsetenv("LIBNFC_LOG_LEVEL");
	kz_nfc_backend.close(open_be("pn532_uart:/nonexistent/port"));
	assert_non_null(getenv("LIBNFC_LOG_LEVEL"));
	unsetenv("LIBNFC_LOG_LEVEL");
	unlink(log);
}

static int setup(void **state)
{
	(void)state;
	pki = testpki_make();
	if (pki == NULL || mkdtemp(dir) == NULL)
		return -1;
	snprintf(link_path, sizeof(link_path), "%s/pn532", dir);
	snprintf(sim_log, sizeof(sim_log), "%s/sim.log", dir);
	snprintf(conn, sizeof(conn), "pn532_uart:%s", link_path);
	snprintf(reader_name, sizeof(reader_name), "libnfc %s", conn);
	/* No libnfc configuration of the host's may add devices. */
	unsetenv("LIBNFC_DEVICE");
	unsetenv("LIBNFC_DEFAULT_DEVICE");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sim_stop();
	unlink(link_path);
	unlink(sim_log);
	rmdir(dir);
	testpki_remove(pki);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(no_device),           cmocka_unit_test(limits_and_exchange),
	    cmocka_unit_test(leave_and_return),    cmocka_unit_test(retap_unseen),
	    cmocka_unit_test(wait_and_cancel),     cmocka_unit_test(device_lost_and_back),
	    cmocka_unit_test(port_held_elsewhere), cmocka_unit_test(module_slot_events),
	    cmocka_unit_test(libnfc_debug_warned),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("KZ_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("KZ_TEST_FILTER"));
	if (getenv("KAZASHI_DEBUG") != NULL)
		kz_log_configure(KZ_LOG_DEBUG, NULL, true);
	return cmocka_run_group_tests(tests, setup, teardown);
}
