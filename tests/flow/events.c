/* kz-events: slot events, threads and pcscd restarts through a PKCS#11
 * module, for the tap tests against the real pcscd. One JSON line per
 * finding on stdout; the shell test asserts on them.
 *
 *   kz-events --module M wait N        report N slot events, then the CPU
 *                                      time spent waiting
 *   kz-events --module M finalize      C_Finalize while a thread waits:
 *                                      how long until it returns, and what
 *   kz-events --module M sign-while-waiting N
 *                                      N signatures while a thread waits
 *   kz-events --module M restart       list slots, wait for "go" on stdin
 *                                      (pcscd restarted meanwhile), then
 *                                      the slots and a signature again
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#include "driver.h"

static CK_FUNCTION_LIST *p11;

static double cpu_ms(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000.0 +
	       (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000.0;
}

/* The present slots, as a JSON array into buf; returns their count. */
static CK_ULONG present_slots(char *buf, size_t cap, CK_SLOT_ID *first)
{
	CK_SLOT_ID slots[32];
	CK_ULONG n = 32;
	if (p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		n = 0;
	size_t off = (size_t)snprintf(buf, cap, "[");
	for (CK_ULONG i = 0; i < n && off < cap; i++)
		off += (size_t)snprintf(buf + off, cap - off, "%s%lu", i ? "," : "", slots[i]);
	if (off < cap)
		snprintf(buf + off, cap - off, "]");
	if (n > 0 && first != NULL)
		*first = slots[0];
	return n;
}

/* One user-authentication signature on slot: the rv of the first failure. */
static CK_RV sign_once(CK_SLOT_ID slot)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl = {CKA_CLASS, &cls, sizeof(cls)};
	CK_OBJECT_HANDLE key;
	CK_ULONG n = 0;
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	CK_BYTE data[32] = {1}, sig[512];
	CK_ULONG sig_len = sizeof(sig);
	CK_RV rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK)
		return rv;
	rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4);
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = p11->C_FindObjectsInit(s, &tmpl, 1);
	if (rv == CKR_OK)
		rv = p11->C_FindObjects(s, &key, 1, &n);
	if (rv == CKR_OK)
		rv = p11->C_FindObjectsFinal(s);
	if (rv == CKR_OK && n != 1)
		rv = CKR_OBJECT_HANDLE_INVALID;
	if (rv == CKR_OK)
		rv = p11->C_SignInit(s, &mech, key);
	if (rv == CKR_OK)
		rv = p11->C_Sign(s, data, sizeof(data), sig, &sig_len);
	p11->C_CloseSession(s);
	return rv;
}

typedef struct waiter {
	pthread_t thread;
	CK_RV rv;
	double returned_at;
} waiter;

static void *wait_thread(void *arg)
{
	waiter *w = arg;
	CK_SLOT_ID slot;
	do {
		w->rv = p11->C_WaitForSlotEvent(0, &slot, NULL);
	} while (w->rv == CKR_OK); /* events keep coming: wait on */
	w->returned_at = kzt_now_ms();
	return NULL;
}

static int scenario_wait(int events)
{
	double cpu0 = cpu_ms(), t0 = kzt_now_ms();
	for (int i = 0; i < events; i++) {
		CK_SLOT_ID slot;
		CK_RV rv = p11->C_WaitForSlotEvent(0, &slot, NULL);
		CK_SLOT_INFO si;
		bool present =
		    p11->C_GetSlotInfo(slot, &si) == CKR_OK && (si.flags & CKF_TOKEN_PRESENT);
		printf("{\"event\":%d,\"rv\":\"0x%lx\",\"slot\":%lu,\"present\":%s,\"ms\":%.0f}\n",
		       i, rv, slot, present ? "true" : "false", kzt_now_ms() - t0);
		fflush(stdout);
		if (rv != CKR_OK)
			return 1;
	}
	CK_SLOT_ID slot;
	printf("{\"dont_block\":\"0x%lx\"}\n",
	       p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL));
	printf("{\"cpu_ms\":%.1f,\"wall_ms\":%.0f}\n", cpu_ms() - cpu0, kzt_now_ms() - t0);
	return 0;
}

static int scenario_finalize(void)
{
	waiter w = {0};
	char buf[256];
	present_slots(buf, sizeof(buf), NULL); /* let the present phone's event be */
	pthread_create(&w.thread, NULL, wait_thread, &w);
	kzt_sleep_ms(1500);
	double t0 = kzt_now_ms();
	CK_RV rv = p11->C_Finalize(NULL);
	pthread_join(w.thread, NULL);
	printf("{\"finalize\":\"0x%lx\",\"waiter\":\"0x%lx\",\"released_ms\":%.0f}\n", rv, w.rv,
	       w.returned_at - t0);
	return 0;
}

static int scenario_sign_while_waiting(int count)
{
	waiter w = {0};
	char buf[256];
	CK_SLOT_ID slot = 0;
	if (present_slots(buf, sizeof(buf), &slot) == 0)
		return 1;
	pthread_create(&w.thread, NULL, wait_thread, &w);
	int ok = 0;
	for (int i = 0; i < count; i++)
		ok += sign_once(slot) == CKR_OK;
	CK_RV rv = p11->C_Finalize(NULL);
	pthread_join(w.thread, NULL);
	printf("{\"signatures\":%d,\"ok\":%d,\"finalize\":\"0x%lx\",\"waiter\":\"0x%lx\"}\n", count,
	       ok, rv, w.rv);
	return 0;
}

static int scenario_restart(void)
{
	char before[256], after[256], line[16];
	CK_SLOT_ID all[32];
	CK_ULONG total_before = 32, total_after = 32;
	CK_SLOT_ID slot = 0;
	present_slots(before, sizeof(before), &slot);
	p11->C_GetSlotList(CK_FALSE, all, &total_before);
	printf("{\"before\":%s,\"slots\":%lu,\"sign\":\"0x%lx\"}\n", before, total_before,
	       sign_once(slot));
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	/* pcscd was restarted meanwhile: poll until the phone is back. */
	double t0 = kzt_now_ms();
	CK_ULONG n = 0;
	while ((n = present_slots(after, sizeof(after), &slot)) == 0 && kzt_now_ms() - t0 < 15000)
		kzt_sleep_ms(200);
	p11->C_GetSlotList(CK_FALSE, all, &total_after);
	printf("{\"after\":%s,\"slots\":%lu,\"ms\":%.0f,\"sign\":\"0x%lx\"}\n", after, total_after,
	       kzt_now_ms() - t0, n ? sign_once(slot) : CKR_TOKEN_NOT_PRESENT);
	p11->C_Finalize(NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[1], "--module") != 0) {
		fputs(
		    "usage: kz-events --module PATH wait N|finalize|sign-while-waiting N|restart\n",
		    stderr);
		return 2;
	}
	p11 = kzt_load("kz-events", argv[2]);
	if (p11 == NULL)
		return 3;
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	if (p11->C_Initialize(&args) != CKR_OK)
		return 3;
	const char *what = argv[3];
	int n = argc > 4 ? atoi(argv[4]) : 1;
	if (!strcmp(what, "wait"))
		return scenario_wait(n);
	if (!strcmp(what, "finalize"))
		return scenario_finalize();
	if (!strcmp(what, "sign-while-waiting"))
		return scenario_sign_while_waiting(n);
	if (!strcmp(what, "restart"))
		return scenario_restart();
	return 2;
}
