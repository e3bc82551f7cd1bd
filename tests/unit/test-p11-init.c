/* C_Initialize and C_Finalize: every locking variant of
 * CK_C_INITIALIZE_ARGS, key=value words in pReserved (p11-kit) and NSS's
 * parameter strings, calls before and after, concurrent initialisation and
 * finalisation, a forked child that initialises again, no reader and no
 * pcscd, and the PKCS#11 3.0 interfaces. In-process only: these tests
 * are about the module's own state. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "pkcs11/entry30.h"
#include "pkcs11/module.h"
#include "p11fixture.h"

#define F T.f
#define TEST(f)                                                                                    \
	{                                                                                          \
#f, f, p11t_setup_phone, p11t_teardown_phone, &p11t_android                        \
	}
#define THREADS 8

/* ---- the caller's mutexes, counted ----------------------------------------- */

static struct {
	pthread_mutex_t lock;
	int created, destroyed, locked, unlocked;
} calls = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0};

static void count(int *n)
{
	pthread_mutex_lock(&calls.lock);
	(*n)++;
	pthread_mutex_unlock(&calls.lock);
}

static CK_RV create_mutex(CK_VOID_PTR_PTR out)
{
	pthread_mutex_t *m = malloc(sizeof(*m));
	if (m == NULL || pthread_mutex_init(m, NULL) != 0) {
		free(m);
		return CKR_HOST_MEMORY;
	}
	count(&calls.created);
	*out = m;
	return CKR_OK;
}

static CK_RV destroy_mutex(CK_VOID_PTR m)
{
	pthread_mutex_destroy(m);
	free(m);
	count(&calls.destroyed);
	return CKR_OK;
}

static CK_RV lock_mutex(CK_VOID_PTR m)
{
	count(&calls.locked);
	return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV unlock_mutex(CK_VOID_PTR m)
{
	count(&calls.unlocked);
	return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_C_INITIALIZE_ARGS java = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL};
static CK_C_INITIALIZE_ARGS nss = {create_mutex, destroy_mutex,     lock_mutex,
                                   unlock_mutex, CKF_OS_LOCKING_OK, NULL};
static CK_C_INITIALIZE_ARGS callbacks_only = {
    create_mutex, destroy_mutex, lock_mutex, unlock_mutex, 0, NULL};
static CK_C_INITIALIZE_ARGS single_thread = {NULL, NULL, NULL, NULL, 0, NULL};
static CK_C_INITIALIZE_ARGS no_threads = {
    NULL, NULL, NULL, NULL, CKF_LIBRARY_CANT_CREATE_OS_THREADS, NULL};

/* A little of everything, as an application's first minute does. */
static void workload(void)
{
	CK_ULONG n = 0;
	assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	assert_int_equal(n, 2);
	CK_SLOT_ID slots[2];
	assert_int_equal(F->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	CK_SESSION_HANDLE h;
	assert_int_equal(F->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_OK);
	assert_int_equal(F->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4), CKR_OK);
	CK_OBJECT_HANDLE found[4];
	assert_int_equal(F->C_FindObjectsInit(h, NULL, 0), CKR_OK);
	assert_int_equal(F->C_FindObjects(h, found, 4, &n), CKR_OK);
	assert_int_equal(n, 3); /* key pair and certificate */
	assert_int_equal(F->C_FindObjectsFinal(h), CKR_OK);
	assert_int_equal(F->C_CloseSession(h), CKR_OK);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_not_initialized(void **state)
{
	(void)state;
	for (int round = 0; round < 2; round++) {
		CK_INFO info;
		CK_ULONG n = 0;
		CK_SESSION_HANDLE h;
		CK_SLOT_ID slot;
		CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
		CK_BYTE buf[8];
		const CK_RV no = CKR_CRYPTOKI_NOT_INITIALIZED;
		assert_int_equal(F->C_GetInfo(&info), no);
		assert_int_equal(F->C_GetSlotList(CK_FALSE, NULL, &n), no);
		assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h), no);
		assert_int_equal(F->C_CloseAllSessions(0), no);
		assert_int_equal(F->C_Login(1, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4), no);
		assert_int_equal(F->C_SignInit(1, &m, 1), no);
		assert_int_equal(F->C_EncryptInit(1, &m, 1), no);
		assert_int_equal(F->C_GenerateRandom(1, buf, sizeof(buf)), no);
		assert_int_equal(F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), no);
		assert_int_equal(F->C_Finalize(NULL), no);
		/* Round two: after a whole initialise-finalise cycle. */
		assert_int_equal(F->C_Initialize(NULL), CKR_OK);
		workload();
		assert_int_equal(F->C_Finalize(NULL), CKR_OK);
	}
}

static void test_initialize_twice(void **state)
{
	(void)state;
	assert_int_equal(F->C_Initialize(NULL), CKR_OK);
	assert_int_equal(F->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
	assert_int_equal(F->C_Initialize(&java), CKR_CRYPTOKI_ALREADY_INITIALIZED);
	int reserved;
	assert_int_equal(F->C_Finalize(&reserved), CKR_ARGUMENTS_BAD);
	workload();
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
	assert_int_equal(F->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void with_args(CK_C_INITIALIZE_ARGS *args)
{
	assert_int_equal(F->C_Initialize(args), CKR_OK);
	workload();
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static void test_locking_variants(void **state)
{
	(void)state;
	with_args(&java);          /* OS locking, no callbacks: Java */
	with_args(&nss);           /* OS locking or callbacks: NSS */
	with_args(&single_thread); /* neither: one thread promised */
	with_args(&no_threads);    /* the module starts no thread of its own */

	/* Callbacks only: the module must lock with them. */
	calls.created = calls.destroyed = calls.locked = calls.unlocked = 0;
	assert_int_equal(F->C_Initialize(&callbacks_only), CKR_OK);
	assert_true(calls.created >= 1);
	workload();
	assert_true(calls.locked > 0);
	assert_int_equal(calls.locked, calls.unlocked);
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
	assert_int_equal(calls.destroyed, calls.created);

	/* Some of the four callbacks but not all: the specification says no. */
	CK_C_INITIALIZE_ARGS partial = {create_mutex,      NULL, lock_mutex, unlock_mutex,
	                                CKF_OS_LOCKING_OK, NULL};
	assert_int_equal(F->C_Initialize(&partial), CKR_ARGUMENTS_BAD);
	CK_INFO info;
	assert_int_equal(F->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
}

/* p11-kit's x-init-reserved arrives in pReserved; so do NSS's module
 * parameters, which are not ours and must not be refused. */
static void test_reserved_words(void **state)
{
	(void)state;
	CK_C_INITIALIZE_ARGS args = java;
	args.pReserved = "log_level=info pcsc_readers='ACS, Sony' apdu_trace=off";
	assert_int_equal(F->C_Initialize(&args), CKR_OK);
	assert_int_equal(kz_mod.config.log_level, KZ_LOG_INFO);
	assert_string_equal(kz_mod.config.pcsc_readers, "ACS, Sony");
	assert_false(kz_mod.config.apdu_trace);
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);

	args.pReserved = "configdir='sql:/etc/pki/nssdb' certPrefix='' keyPrefix='' "
	                 "secmod='secmod.db' flags=readOnly,noModDB "
	                 "tokenDescription={NSS Certificate DB} extended_apdu=no";
	assert_int_equal(F->C_Initialize(&args), CKR_OK);
	assert_false(kz_mod.config.extended_apdu);
	workload();
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);

	args.pReserved = "= ==' unterminated \"quote";
	with_args(&args);
	args.pReserved = "";
	with_args(&args);
}

typedef struct racer {
	pthread_barrier_t *start;
	CK_RV rv;
	int failures;
} racer;

static void *initialize_racer(void *arg)
{
	racer *r = arg;
	pthread_barrier_wait(r->start);
	r->rv = F->C_Initialize(&java);
	return NULL;
}

static void *finalize_racer(void *arg)
{
	racer *r = arg;
	pthread_barrier_wait(r->start);
	r->rv = F->C_Finalize(NULL);
	return NULL;
}

/* Many sessions at once on one token, public calls only: no assertion
 * from a thread (cmocka's are not thread-safe), a count of failures. */
static void *busy_racer(void *arg)
{
	racer *r = arg;
	pthread_barrier_wait(r->start);
	for (int i = 0; i < 20; i++) {
		CK_SESSION_HANDLE h;
		CK_TOKEN_INFO ti;
		CK_OBJECT_HANDLE found[4];
		CK_ULONG n;
		r->failures +=
		    F->C_OpenSession(T.slot[i % 2], CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK;
		r->failures += F->C_GetTokenInfo(T.slot[i % 2], &ti) != CKR_OK;
		r->failures += F->C_FindObjectsInit(h, NULL, 0) != CKR_OK;
		/* Before login a phone shows no object on either token. */
		r->failures += F->C_FindObjects(h, found, 4, &n) != CKR_OK || n != 0;
		r->failures += F->C_FindObjectsFinal(h) != CKR_OK;
		r->failures += F->C_CloseSession(h) != CKR_OK;
	}
	return NULL;
}

static void race(void *(*fn)(void *), racer r[THREADS])
{
	pthread_t t[THREADS];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		r[i] = (racer){&start, CKR_GENERAL_ERROR, 0};
		assert_int_equal(pthread_create(&t[i], NULL, fn, &r[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
}

static void test_concurrent(void **state)
{
	(void)state;
	racer r[THREADS];
	int ok = 0, already = 0, not_init = 0, failures = 0;
	race(initialize_racer, r);
	for (int i = 0; i < THREADS; i++) {
		ok += r[i].rv == CKR_OK;
		already += r[i].rv == CKR_CRYPTOKI_ALREADY_INITIALIZED;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(already, THREADS - 1);

	CK_SLOT_ID slots[2];
	CK_ULONG n = 2;
	assert_int_equal(F->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	T.slot[0] = slots[0], T.slot[1] = slots[1];
	race(busy_racer, r);
	for (int i = 0; i < THREADS; i++)
		failures += r[i].failures;
	assert_int_equal(failures, 0);

	race(finalize_racer, r);
	ok = 0;
	for (int i = 0; i < THREADS; i++) {
		ok += r[i].rv == CKR_OK;
		not_init += r[i].rv == CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(not_init, THREADS - 1);
}

/* The child of a fork starts with nothing: it initialises, and works. */
static int child(void)
{
	int code = 0;
	CK_ULONG n = 0;
	CK_SESSION_HANDLE h = 0;
	if (F->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_CRYPTOKI_NOT_INITIALIZED)
		code |= 1;
	if (F->C_Finalize(NULL) != CKR_CRYPTOKI_NOT_INITIALIZED)
		code |= 2;
	if (F->C_Initialize(&java) != CKR_OK)
		code |= 4;
	if (F->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n != 2)
		code |= 8;
	if (F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK)
		code |= 16;
	/* The parent's login is the parent's. */
	if (F->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4) != CKR_OK)
		code |= 32;
	if (F->C_Finalize(NULL) != CKR_OK)
		code |= 64;
	return code;
}

static void test_fork(void **state)
{
	(void)state;
	assert_int_equal(F->C_Initialize(&java), CKR_OK);
	CK_SESSION_HANDLE h;
	CK_ULONG n = 0;
	/* Slot ids are learnt from C_GetSlotList, as an application must. */
	assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_OK);
	assert_int_equal(F->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4), CKR_OK);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child());
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The parent goes on as it was. */
	CK_SESSION_INFO si;
	assert_int_equal(F->C_GetSessionInfo(h, &si), CKR_OK);
	assert_int_equal(si.state, CKS_RO_USER_FUNCTIONS);
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* No reader, no pcscd: the module initialises and has no slots. */
static void test_no_pcscd(void **state)
{
	(void)state;
	kz_test_backend = NULL;
	setenv("PCSCLITE_CSOCK_NAME", "/nonexistent/kazashi-test/pcscd.comm", 1);
	assert_int_equal(F->C_Initialize(NULL), CKR_OK);
	CK_ULONG n = 9;
	assert_int_equal(F->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	assert_int_equal(n, 0);
	CK_SLOT_ID slot;
	assert_int_equal(F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
	CK_SESSION_HANDLE h;
	assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
	                 CKR_SLOT_ID_INVALID);
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);

	CK_C_INITIALIZE_ARGS off = java;
	off.pReserved = "pcsc=no";
	assert_int_equal(F->C_Initialize(&off), CKR_OK);
	assert_int_equal(F->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
	unsetenv("PCSCLITE_CSOCK_NAME");
	sim_backend_install();
}

static void test_interfaces(void **state)
{
	(void)state;
	CK_ULONG n = 0;
	assert_int_equal(C_GetInterfaceList(NULL, &n), CKR_OK);
	assert_int_equal(n, 2);
	CK_INTERFACE list[2];
	CK_ULONG one = 1;
	assert_int_equal(C_GetInterfaceList(list, &one), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(one, 2);
	assert_int_equal(C_GetInterfaceList(list, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetInterfaceList(list, &n), CKR_OK);
	for (int i = 0; i < 2; i++) {
		assert_string_equal((char *)list[i].pInterfaceName, "PKCS 11");
		assert_int_equal(list[i].flags, 0);
	}
	CK_VERSION *v0 = list[0].pFunctionList, *v1 = list[1].pFunctionList;
	assert_true(v0->major == 3 && v0->minor == 0);
	assert_true(v1->major == 2 && v1->minor == 40);

	CK_INTERFACE *it = NULL;
	assert_int_equal(C_GetInterface(NULL, NULL, &it, 0), CKR_OK);
	assert_ptr_equal(it->pFunctionList, list[0].pFunctionList);
	CK_VERSION v240 = {2, 40}, v31 = {3, 1};
	assert_int_equal(C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &it, 0), CKR_OK);
	assert_ptr_equal(it->pFunctionList, F); /* C_GetFunctionList's */
	assert_int_equal(C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v31, &it, 0),
	                 CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 12", NULL, &it, 0),
	                 CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetInterface(NULL, NULL, &it, CKF_INTERFACE_FORK_SAFE),
	                 CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetInterface(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);

	/* The 3.0 list: the 2.40 functions, then the 24 that 3.0 adds, none
	 * missing. */
	CK_FUNCTION_LIST_3_0 *f3 = list[0].pFunctionList;
	size_t first = offsetof(CK_FUNCTION_LIST_3_0, C_Initialize);
	size_t entries = (sizeof(*f3) - first) / sizeof(f3->C_Initialize);
	assert_int_equal(entries, 68 + 24);
	for (size_t i = 0; i < entries; i++) {
		void (*fn)(void) = NULL;
		memcpy(&fn, (char *)f3 + first + i * sizeof(fn), sizeof(fn));
		assert_non_null(fn);
	}
	assert_memory_equal((char *)f3 + first, (char *)F + first, sizeof(*F) - first);
	assert_ptr_equal(f3->C_GetInterface, C_GetInterface);
	assert_ptr_equal(f3->C_MessageVerifyFinal, C_MessageVerifyFinal);

	assert_int_equal(f3->C_MessageSignInit(1, NULL, 1), CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(f3->C_SessionCancel(1, CKF_SIGN), CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(F->C_Initialize(NULL), CKR_OK);
	assert_int_equal(f3->C_MessageEncryptInit(1, NULL, 1), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(f3->C_EncryptMessage(1, NULL, 0, NULL, 0, NULL, 0, NULL, NULL),
	                 CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(f3->C_SignMessageBegin(1, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(f3->C_MessageVerifyFinal(1), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(f3->C_SessionCancel(12345, CKF_SIGN), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

typedef struct waiter {
	CK_RV rv;
	CK_SLOT_ID slot;
} waiter;

static void *wait_for_event(void *arg)
{
	waiter *w = arg;
	w->rv = F->C_WaitForSlotEvent(0, &w->slot, NULL);
	return NULL;
}

/* A thread blocked in C_WaitForSlotEvent is released by C_Finalize. */
static void test_finalize_releases_waiter(void **state)
{
	(void)state;
	assert_int_equal(F->C_Initialize(&java), CKR_OK);
	CK_SLOT_ID slot;
	while (F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL) == CKR_OK)
		;
	sim_backend_leave();
	assert_int_equal(F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_OK);
	while (F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL) == CKR_OK)
		;
	waiter w = {CKR_GENERAL_ERROR, 0};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, wait_for_event, &w), 0);
	struct timespec pause = {0, 100 * 1000 * 1000};
	nanosleep(&pause, NULL);
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
	pthread_join(t, NULL);
	assert_int_equal(w.rv, CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void *call_until_finalized(void *arg)
{
	racer *r = arg;
	pthread_barrier_wait(r->start);
	for (int i = 0; i < 100000; i++) {
		CK_TOKEN_INFO ti;
		CK_SESSION_HANDLE h;
		CK_RV a = F->C_GetTokenInfo(0, &ti);
		CK_RV b = F->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &h);
		CK_RV c = b == CKR_OK ? F->C_CloseSession(h) : CKR_OK;
		r->failures += (a != CKR_OK && a != CKR_CRYPTOKI_NOT_INITIALIZED) +
		               (b != CKR_OK && b != CKR_CRYPTOKI_NOT_INITIALIZED) +
		               (c != CKR_OK && c != CKR_CRYPTOKI_NOT_INITIALIZED);
		if (a == CKR_CRYPTOKI_NOT_INITIALIZED)
			break;
	}
	return NULL;
}

/* C_Finalize while other threads are in calls: the specification leaves it
 * undefined; the module waits for them rather than pull their tables away. */
static void test_finalize_during_calls(void **state)
{
	(void)state;
	assert_int_equal(F->C_Initialize(&java), CKR_OK);
	CK_ULONG n = 0;
	assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	enum { N = 4 };
	pthread_t t[N];
	racer r[N];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, N + 1);
	for (int i = 0; i < N; i++) {
		r[i] = (racer){&start, CKR_OK, 0};
		assert_int_equal(pthread_create(&t[i], NULL, call_until_finalized, &r[i]), 0);
	}
	pthread_barrier_wait(&start);
	struct timespec pause = {0, 20 * 1000 * 1000};
	nanosleep(&pause, NULL);
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
	int failures = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		failures += r[i].failures;
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(failures, 0);
}

/* The slots of the readers present at C_Initialize are valid from then on,
 * with the ids C_GetSlotList gives later (Java's SunPKCS11 with slot=0
 * calls C_GetSlotInfo(0) first), and finding them sends no APDU. */
static void test_slots_from_initialize(void **state)
{
	(void)state;
	unsigned long before = p11t_transmits();
	assert_int_equal(F->C_Initialize(&java), CKR_OK);
	assert_int_equal(p11t_transmits(), before);
	CK_SLOT_INFO si;
	assert_int_equal(F->C_GetSlotInfo(1, &si), CKR_OK);
	assert_true(si.flags & CKF_TOKEN_PRESENT);
	assert_int_equal(F->C_GetSlotInfo(0, &si), CKR_OK);
	assert_true(si.flags & CKF_TOKEN_PRESENT);
	assert_int_equal(F->C_GetSlotInfo(2, &si), CKR_SLOT_ID_INVALID);
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4;
	assert_int_equal(F->C_GetSlotList(CK_FALSE, slots, &n), CKR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(slots[0], 0);
	assert_int_equal(slots[1], 1);
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_not_initialized),
	    TEST(test_initialize_twice),
	    TEST(test_locking_variants),
	    TEST(test_reserved_words),
	    TEST(test_concurrent),
	    TEST(test_fork),
	    TEST(test_no_pcscd),
	    TEST(test_interfaces),
	    TEST(test_finalize_releases_waiter),
	    TEST(test_finalize_during_calls),
	    TEST(test_slots_from_initialize),
	};
	unsetenv("KZ_P11_MODULE"); /* about the module's own state: in-process only */
	return p11t_run("p11-init", tests, KZ_ARRAY_LEN(tests));
}
