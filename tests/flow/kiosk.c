/* kz-kiosk: a relying party that stays alive while the world changes under
 * it (pcscd restarts, readers come and go, one person's phone follows
 * another's), driven one command per line on stdin, one JSON line per
 * command on stdout, for the integration tests of a kiosk's day.
 *
 *   kz-kiosk --module M [--pin P]
 *
 * First line: C_GetSlotInfo(0) right after C_Initialize.
 * Commands:
 *   tap    wait (at most 15 s) for a user-authentication token, then open a
 *          session, log in and sign; on a failure note it, and start over
 *          from the wait. The session that signed stays open (logged in).
 *          Prints the time to the token's presence and to the signature,
 *          every failure on the way ("C_Login:0x32"), and the token's
 *          serial number as read before the login, after it and after the
 *          signature, and the signature token's serial.
 *   old    sign again on the session kept by the tap before the last one
 *   held   sign again on the session kept by the last tap
 *   probe  call what a relying party calls while pcscd is away, each timed
 *   logout C_Logout and close the kept sessions
 *   quit   C_Finalize and exit
 * Every line also carries "logins": the C_Login calls made so far, for
 * comparing with the VERIFY commands the phone saw. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#include "driver.h"

#define TAP_WAIT_MS 15000

static CK_FUNCTION_LIST *p11;
static const char *pin = "1234";
static unsigned logins;
static CK_SESSION_HANDLE held = CK_INVALID_HANDLE, held_before = CK_INVALID_HANDLE;

/* The present slot whose token label starts with prefix, or -1. */
static long find_token(const char *prefix)
{
	CK_SLOT_ID slots[32];
	CK_ULONG n = 32;
	if (p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return -1;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (p11->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, prefix, strlen(prefix)) == 0)
			return (long)slots[i];
	}
	return -1;
}

/* The token's serial number, unpadded, into out (17 bytes), or "-". */
static void serial_of(long slot, char *out)
{
	CK_TOKEN_INFO ti;
	strcpy(out, "-");
	if (slot < 0 || p11->C_GetTokenInfo((CK_SLOT_ID)slot, &ti) != CKR_OK)
		return;
	size_t n = sizeof(ti.serialNumber);
	while (n > 0 && ti.serialNumber[n - 1] == ' ')
		n--;
	memcpy(out, ti.serialNumber, n);
	out[n] = '\0';
}

static CK_RV sign_on(CK_SESSION_HANDLE s, const char **call)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl = {CKA_CLASS, &cls, sizeof(cls)};
	CK_OBJECT_HANDLE key;
	CK_ULONG n = 0;
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	CK_BYTE data[32] = {1}, sig[512];
	CK_ULONG sig_len = sizeof(sig);
	CK_RV rv;
	*call = "C_FindObjectsInit";
	rv = p11->C_FindObjectsInit(s, &tmpl, 1);
	if (rv != CKR_OK)
		return rv;
	*call = "C_FindObjects";
	rv = p11->C_FindObjects(s, &key, 1, &n);
	p11->C_FindObjectsFinal(s);
	if (rv == CKR_OK && n != 1)
		rv = CKR_OBJECT_HANDLE_INVALID;
	if (rv != CKR_OK)
		return rv;
	*call = "C_SignInit";
	rv = p11->C_SignInit(s, &mech, key);
	if (rv != CKR_OK)
		return rv;
	*call = "C_Sign";
	rv = p11->C_Sign(s, data, sizeof(data), sig, &sig_len);
	if (rv == CKR_OK && sig_len < 128)
		rv = CKR_GENERAL_ERROR;
	return rv;
}

static void cmd_tap(void)
{
	char errors[1024] = "", s_before[20], s_login[20], s_signed[20], s_sign[20];
	size_t eoff = 0;
	double t0 = kzt_now_ms(), present_ms = -1;
	bool ok = false;
	int failures = 0;
	strcpy(s_before, "-");
	strcpy(s_login, "-");
	strcpy(s_signed, "-");
	strcpy(s_sign, "-");
	while (!ok && kzt_now_ms() - t0 < TAP_WAIT_MS) {
		long slot = find_token("JPKI User Authentication");
		if (slot < 0) {
			kzt_sleep_ms(20);
			continue;
		}
		if (present_ms < 0)
			present_ms = kzt_now_ms() - t0;
		serial_of(slot, s_before);
		CK_SESSION_HANDLE s;
		const char *call = "C_OpenSession";
		CK_RV rv = p11->C_OpenSession((CK_SLOT_ID)slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
		if (rv == CKR_OK) {
			call = "C_Login";
			logins++;
			rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
			serial_of(slot, s_login);
			if (rv == CKR_OK)
				rv = sign_on(s, &call);
			serial_of(slot, s_signed);
			if (rv != CKR_OK)
				p11->C_CloseSession(s);
		}
		if (rv == CKR_OK) {
			ok = true;
			held_before = held;
			held = s;
			serial_of(find_token("JPKI Digital Signature"), s_sign);
			break;
		}
		failures++;
		if (eoff < sizeof(errors) - 64)
			eoff += (size_t)snprintf(errors + eoff, sizeof(errors) - eoff,
			                         "%s\"%s:0x%lx\"", eoff ? "," : "", call, rv);
		kzt_sleep_ms(20);
	}
	printf("{\"cmd\":\"tap\",\"ok\":%s,\"present_ms\":%.0f,\"ms\":%.0f,\"errors\":[%s],"
	       "\"failures\":%d,\"serial_before_login\":\"%s\",\"serial_after_login\":\"%s\","
	       "\"serial_after_sign\":\"%s\",\"serial_sign_token\":\"%s\",\"logins\":%u}\n",
	       ok ? "true" : "false", present_ms, kzt_now_ms() - t0, errors, failures, s_before,
	       s_login, s_signed, s_sign, logins);
}

static void sign_kept(const char *name, CK_SESSION_HANDLE h)
{
	const char *call = "none";
	CK_RV rv = h == CK_INVALID_HANDLE ? CKR_SESSION_HANDLE_INVALID : sign_on(h, &call);
	printf("{\"cmd\":\"%s\",\"call\":\"%s\",\"rv\":\"0x%lx\",\"logins\":%u}\n", name, call, rv,
	       logins);
}

/* What a relying party calls while pcscd is away: each must return, and
 * soon. */
static void cmd_probe(void)
{
	CK_SLOT_ID slots[32];
	CK_ULONG n;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE s;
	CK_SLOT_ID ev;
	const char *call;
	double max_ms = 0, t;
	char out[1024];
	size_t off = 0;
#define PROBE(name, expr)                                                                          \
	do {                                                                                       \
		t = kzt_now_ms();                                                                  \
		CK_RV rv_ = (expr);                                                                \
		t = kzt_now_ms() - t;                                                              \
		if (t > max_ms)                                                                    \
			max_ms = t;                                                                \
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s\"%s\":\"0x%lx\"",        \
		                        off ? "," : "", name, rv_);                                \
	} while (0)
	n = 32;
	PROBE("C_GetSlotList(TRUE)", p11->C_GetSlotList(CK_TRUE, slots, &n));
	unsigned long present = n;
	n = 32;
	PROBE("C_GetSlotList(FALSE)", p11->C_GetSlotList(CK_FALSE, slots, &n));
	unsigned long all = n;
	PROBE("C_GetSlotInfo", p11->C_GetSlotInfo(0, &si));
	PROBE("C_GetTokenInfo", p11->C_GetTokenInfo(0, &ti));
	PROBE("C_OpenSession", p11->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s));
	logins++;
	PROBE("C_Login(held)", p11->C_Login(held, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)));
	PROBE("C_Sign(held)", sign_on(held, &call));
	PROBE("C_WaitForSlotEvent(DONT_BLOCK)", p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL));
#undef PROBE
	printf("{\"cmd\":\"probe\",\"calls\":{%s},\"present\":%lu,\"slots\":%lu,\"max_ms\":%.0f,"
	       "\"logins\":%u}\n",
	       out, present, all, max_ms, logins);
}

static void cmd_logout(void)
{
	CK_RV rv = p11->C_Logout(held);
	p11->C_CloseSession(held);
	if (held_before != CK_INVALID_HANDLE)
		p11->C_CloseSession(held_before);
	held = held_before = CK_INVALID_HANDLE;
	printf("{\"cmd\":\"logout\",\"rv\":\"0x%lx\",\"logins\":%u}\n", rv, logins);
}

int main(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[1], "--module") != 0) {
		fputs("usage: kz-kiosk --module PATH [--pin PIN] < commands\n", stderr);
		return 2;
	}
	if (argc >= 5 && strcmp(argv[3], "--pin") == 0)
		pin = argv[4];
	p11 = kzt_load("kz-kiosk", argv[2]);
	if (p11 == NULL)
		return 3;
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	if (p11->C_Initialize(&args) != CKR_OK)
		return 3;
	/* Slot ids of the readers present at C_Initialize are valid at once
	 * (SunPKCS11's slot=0 asks before any C_GetSlotList). */
	CK_SLOT_INFO si;
	CK_RV rv0 = p11->C_GetSlotInfo(0, &si);
	printf("{\"cmd\":\"init\",\"slot0\":\"0x%lx\",\"description\":\"%.*s\"}\n", rv0,
	       rv0 == CKR_OK ? 40 : 0, (const char *)si.slotDescription);
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!strcmp(line, "tap"))
			cmd_tap();
		else if (!strcmp(line, "old"))
			sign_kept("old", held_before);
		else if (!strcmp(line, "held"))
			sign_kept("held", held);
		else if (!strcmp(line, "probe"))
			cmd_probe();
		else if (!strcmp(line, "logout"))
			cmd_logout();
		else if (!strcmp(line, "quit"))
			break;
		else
			printf("{\"cmd\":\"%s\",\"error\":\"unknown command\"}\n", line);
		fflush(stdout);
	}
	CK_RV rv = p11->C_Finalize(NULL);
	printf("{\"cmd\":\"quit\",\"finalize\":\"0x%lx\",\"logins\":%u}\n", rv, logins);
	return 0;
}
