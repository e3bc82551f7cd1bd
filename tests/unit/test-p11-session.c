/* Sessions and their states, slots and tokens, the state rules of the
 * write calls, and the functions the module does not offer. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "backend.h"
#include "p11fixture.h"

#define F T.f

static void test_states(void **state)
{
	(void)state;
	CK_SESSION_HANDLE ro = p11t_open(P11T_AUTH, false);
	CK_SESSION_HANDLE rw = p11t_open(P11T_AUTH, true);
	CK_SESSION_HANDLE other = p11t_open(P11T_SIGN, false);
	assert_int_equal(p11t_state(ro), CKS_RO_PUBLIC_SESSION);
	assert_int_equal(p11t_state(rw), CKS_RW_PUBLIC_SESSION);

	/* A login is the token's: every session of it changes state, the
	 * other token's sessions do not. */
	p11t_login(ro, P11T_AUTH);
	assert_int_equal(p11t_state(ro), CKS_RO_USER_FUNCTIONS);
	assert_int_equal(p11t_state(rw), CKS_RW_USER_FUNCTIONS);
	assert_int_equal(p11t_state(other), CKS_RO_PUBLIC_SESSION);

	assert_int_equal(F->C_Logout(rw), CKR_OK);
	assert_int_equal(p11t_state(ro), CKS_RO_PUBLIC_SESSION);
	assert_int_equal(p11t_state(rw), CKS_RW_PUBLIC_SESSION);
}

static void test_session_info(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h = p11t_open(P11T_SIGN, true);
	CK_SESSION_INFO si;
	assert_int_equal(F->C_GetSessionInfo(h, &si), CKR_OK);
	assert_int_equal(si.slotID, T.slot[P11T_SIGN]);
	assert_int_equal(si.flags, CKF_SERIAL_SESSION | CKF_RW_SESSION);
	assert_int_equal(si.ulDeviceError, 0);
	assert_int_equal(F->C_GetSessionInfo(h, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(F->C_GetSessionInfo(h + 1000, &si), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(F->C_GetSessionInfo(CK_INVALID_HANDLE, &si), CKR_SESSION_HANDLE_INVALID);
}

static void test_open_arguments(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h;
	assert_int_equal(F->C_OpenSession(T.slot[0], 0, NULL, NULL, &h),
	                 CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	assert_int_equal(F->C_OpenSession(T.slot[0], CKF_SERIAL_SESSION, NULL, NULL, NULL),
	                 CKR_ARGUMENTS_BAD);
	assert_int_equal(F->C_OpenSession(9999, CKF_SERIAL_SESSION, NULL, NULL, &h),
	                 CKR_SLOT_ID_INVALID);
}

static void test_close(void **state)
{
	(void)state;
	CK_SESSION_HANDLE a = p11t_open(P11T_AUTH, false);
	CK_SESSION_HANDLE b = p11t_open(P11T_AUTH, false);
	CK_SESSION_HANDLE c = p11t_open(P11T_SIGN, false);
	assert_int_equal(F->C_CloseSession(a), CKR_OK);
	assert_int_equal(F->C_CloseSession(a), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(F->C_CloseSession(CK_INVALID_HANDLE), CKR_SESSION_HANDLE_INVALID);
	/* C_CloseAllSessions closes one slot's sessions, not the other's. */
	assert_int_equal(F->C_CloseAllSessions(T.slot[P11T_AUTH]), CKR_OK);
	CK_SESSION_INFO si;
	assert_int_equal(F->C_GetSessionInfo(b, &si), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(F->C_GetSessionInfo(c, &si), CKR_OK);
	/* p11-kit 0.24's proxy answers CKR_OK for a slot it does not know. */
	if (!T.proxy)
		assert_int_equal(F->C_CloseAllSessions(9999), CKR_SLOT_ID_INVALID);
}

/* PKCS#11: the user is logged out when the token's last session closes. */
static void test_last_close_logs_out(void **state)
{
	(void)state;
	CK_SESSION_HANDLE a = p11t_open(P11T_AUTH, false);
	CK_SESSION_HANDLE b = p11t_open(P11T_AUTH, false);
	p11t_login(a, P11T_AUTH);
	assert_int_equal(F->C_CloseSession(a), CKR_OK);
	assert_int_equal(p11t_state(b), CKS_RO_USER_FUNCTIONS);
	assert_int_equal(F->C_CloseSession(b), CKR_OK);
	CK_SESSION_HANDLE c = p11t_open(P11T_AUTH, false);
	assert_int_equal(p11t_state(c), CKS_RO_PUBLIC_SESSION);
}

static void test_session_counts(void **state)
{
	(void)state;
	(void)p11t_open(P11T_AUTH, false);
	(void)p11t_open(P11T_AUTH, true);
	(void)p11t_open(P11T_AUTH, true);
	CK_TOKEN_INFO ti;
	assert_int_equal(F->C_GetTokenInfo(T.slot[P11T_AUTH], &ti), CKR_OK);
	assert_int_equal(ti.ulSessionCount, 3);
	assert_int_equal(ti.ulRwSessionCount, 2);
	assert_int_equal(F->C_GetTokenInfo(T.slot[P11T_SIGN], &ti), CKR_OK);
	assert_int_equal(ti.ulSessionCount, 0);
}

static void test_token_info(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		CK_TOKEN_INFO ti;
		assert_int_equal(F->C_GetTokenInfo(T.slot[k], &ti), CKR_OK);
		assert_memory_equal(ti.label, p11t_label[k], strlen(p11t_label[k]));
		CK_FLAGS must =
		    CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED;
		assert_int_equal(ti.flags & must, must);
		/* No generator, no PIN trouble on a fresh phone. */
		assert_int_equal(ti.flags & (CKF_RNG | CKF_USER_PIN_COUNT_LOW |
		                             CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED),
		                 0);
		assert_int_equal(ti.ulMinPinLen, k == P11T_AUTH ? 4 : 6);
		assert_int_equal(ti.ulMaxPinLen, k == P11T_AUTH ? 4 : 16);
		const char *model = T.persona == SIM_PERSONA_CARD ? "My Number card" : "Android";
		assert_memory_equal(ti.model, model, strlen(model));
	}
	assert_int_equal(F->C_GetTokenInfo(T.slot[0], NULL), CKR_ARGUMENTS_BAD);
	CK_TOKEN_INFO ti;
	assert_int_equal(F->C_GetTokenInfo(9999, &ti), CKR_SLOT_ID_INVALID);
}

static void test_slots(void **state)
{
	(void)state;
	CK_ULONG n = 0;
	assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	assert_true(n >= 2);
	/* The two-call pattern, and a buffer that is too small. */
	CK_SLOT_ID one[1];
	CK_ULONG small = 1;
	assert_int_equal(F->C_GetSlotList(CK_TRUE, one, &small), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(small, n);
	assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, NULL), CKR_ARGUMENTS_BAD);

	CK_SLOT_INFO si;
	assert_int_equal(F->C_GetSlotInfo(T.slot[0], &si), CKR_OK);
	CK_FLAGS must = CKF_TOKEN_PRESENT | CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
	assert_int_equal(si.flags & must, must);
	assert_int_equal(F->C_GetSlotInfo(T.slot[0], NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(F->C_GetSlotInfo(9999, &si), CKR_SLOT_ID_INVALID);

	CK_INFO info;
	assert_int_equal(F->C_GetInfo(&info), CKR_OK);
	assert_int_equal(info.cryptokiVersion.major, 2);
	assert_int_equal(F->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
}

static void test_mechanisms(void **state)
{
	(void)state;
	CK_ULONG n = 0;
	assert_int_equal(F->C_GetMechanismList(T.slot[0], NULL, &n), CKR_OK);
	assert_int_equal(n, 6);
	CK_MECHANISM_TYPE list[6], small[2];
	CK_ULONG two = 2;
	assert_int_equal(F->C_GetMechanismList(T.slot[0], small, &two), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(two, 6);
	assert_int_equal(F->C_GetMechanismList(T.slot[0], list, &n), CKR_OK);
	assert_int_equal(list[0], CKM_RSA_PKCS);
	assert_int_equal(F->C_GetMechanismList(T.slot[0], list, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(F->C_GetMechanismList(9999, list, &n), CKR_SLOT_ID_INVALID);

	CK_MECHANISM_INFO mi;
	assert_int_equal(F->C_GetMechanismInfo(T.slot[1], CKM_SHA256_RSA_PKCS, &mi), CKR_OK);
	assert_int_equal(mi.flags & (CKF_SIGN | CKF_HW), CKF_SIGN | CKF_HW);
	assert_int_equal(mi.flags & (CKF_VERIFY | CKF_DECRYPT | CKF_ENCRYPT), 0);
	assert_int_equal(mi.ulMinKeySize, 2048);
	assert_int_equal(F->C_GetMechanismInfo(T.slot[1], CKM_SHA256_RSA_PKCS_PSS, &mi),
	                 CKR_MECHANISM_INVALID);
	assert_int_equal(F->C_GetMechanismInfo(T.slot[1], CKM_SHA256, &mi), CKR_MECHANISM_INVALID);
	assert_int_equal(F->C_GetMechanismInfo(T.slot[1], CKM_RSA_PKCS, NULL), CKR_ARGUMENTS_BAD);
}

/* Write calls: the read-only session rule first, then the token's answer. */
static void test_write_rules(void **state)
{
	(void)state;
	CK_SESSION_HANDLE ro = p11t_open(P11T_AUTH, false);
	CK_SESSION_HANDLE rw = p11t_open(P11T_AUTH, true);
	const char *pin = p11t_pin[P11T_AUTH];
	CK_UTF8CHAR_PTR p = (CK_UTF8CHAR_PTR)pin;
	assert_int_equal(F->C_SetPIN(ro, p, 4, p, 4), CKR_SESSION_READ_ONLY);
	assert_int_equal(F->C_InitPIN(ro, p, 4), CKR_SESSION_READ_ONLY);
	/* C_InitPIN is the security officer's, and JPKI has none. */
	assert_int_equal(F->C_InitPIN(rw, p, 4), CKR_USER_NOT_LOGGED_IN);

	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_TOKEN, &yes, sizeof(yes)}};
	CK_OBJECT_HANDLE obj;
	assert_int_equal(F->C_CreateObject(ro, tmpl, 2, &obj), CKR_SESSION_READ_ONLY);
	assert_int_equal(F->C_CreateObject(rw, tmpl, 2, &obj), CKR_TOKEN_WRITE_PROTECTED);
	assert_int_equal(F->C_CreateObject(rw, tmpl, 2, NULL), CKR_ARGUMENTS_BAD);

	CK_UTF8CHAR label[32];
	memset(label, ' ', sizeof(label));
	assert_int_equal(F->C_InitToken(T.slot[0], p, 4, label), CKR_TOKEN_WRITE_PROTECTED);
	assert_int_equal(F->C_InitToken(T.slot[0], p, 4, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(F->C_InitToken(9999, p, 4, label), CKR_SLOT_ID_INVALID);
}

static void test_not_supported(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h = p11t_open(P11T_AUTH, false);
	p11t_login(h, P11T_AUTH);
	CK_OBJECT_HANDLE key = p11t_find(h, CKO_PRIVATE_KEY);
	CK_OBJECT_HANDLE pub = p11t_find(h, CKO_PUBLIC_KEY);
	CK_MECHANISM rsa = {CKM_RSA_PKCS, NULL, 0};
	CK_MECHANISM sha = {CKM_SHA256, NULL, 0};
	CK_BYTE buf[256];
	CK_ULONG len = sizeof(buf);
	assert_int_equal(F->C_EncryptInit(h, &rsa, pub), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(F->C_DecryptInit(h, &rsa, key), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(F->C_DigestInit(h, &sha), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(F->C_VerifyInit(h, &rsa, pub), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(F->C_SignRecoverInit(h, &rsa, key), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(F->C_VerifyRecoverInit(h, &rsa, pub), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(F->C_GetOperationState(h, buf, &len), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(F->C_WrapKey(h, &rsa, pub, key, buf, &len), CKR_FUNCTION_NOT_SUPPORTED);
	CK_OBJECT_HANDLE a, b;
	assert_int_equal(F->C_GenerateKeyPair(h, &rsa, NULL, 0, NULL, 0, &a, &b),
	                 CKR_FUNCTION_NOT_SUPPORTED);
	/* The specification's own answer for a token without a generator. */
	assert_int_equal(F->C_SeedRandom(h, buf, 8), CKR_RANDOM_NO_RNG);
	assert_int_equal(F->C_GenerateRandom(h, buf, 8), CKR_RANDOM_NO_RNG);
	assert_int_equal(F->C_GenerateRandom(h + 1000, buf, 8), CKR_SESSION_HANDLE_INVALID);
}

/* The legacy parallel functions answer what the specification says. */
static void test_legacy(void **state)
{
	(void)state;
	p11t_need_control(); /* p11-kit's proxy answers these itself */
	CK_SESSION_HANDLE h = p11t_open(P11T_AUTH, false);
	assert_int_equal(F->C_GetFunctionStatus(h), CKR_FUNCTION_NOT_PARALLEL);
	assert_int_equal(F->C_CancelFunction(h), CKR_FUNCTION_NOT_PARALLEL);
}

/* The phone leaves: its sessions end, its slots stay, a new tap works. */
static void test_device_removed(void **state)
{
	(void)state;
	p11t_need_control();
	CK_SESSION_HANDLE h = p11t_open(P11T_AUTH, false);
	p11t_login(h, P11T_AUTH);
	sim_backend_leave();
	CK_SESSION_INFO si;
	CK_RV rv = F->C_GetSessionInfo(h, &si);
	assert_true(rv == CKR_DEVICE_REMOVED || rv == CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(F->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);

	CK_ULONG n = 0;
	assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(F->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	assert_int_equal(n, 2);
	CK_TOKEN_INFO ti;
	assert_int_equal(F->C_GetTokenInfo(T.slot[0], &ti), CKR_TOKEN_NOT_PRESENT);
	assert_int_equal(F->C_GetMechanismList(T.slot[0], NULL, &n), CKR_TOKEN_NOT_PRESENT);
	CK_SESSION_HANDLE h2;
	assert_int_equal(F->C_OpenSession(T.slot[0], CKF_SERIAL_SESSION, NULL, NULL, &h2),
	                 CKR_TOKEN_NOT_PRESENT);

	sim_backend_tap();
	h2 = p11t_open(P11T_AUTH, false);
	assert_int_equal(p11t_state(h2), CKS_RO_PUBLIC_SESSION);
	p11t_login(h2, P11T_AUTH);
}

/* signature_token = no (pReserved words here): the Digital Signature slot
 * is neither listed, nor valid, nor reported by slot events. */
static void test_signature_token_off(void **state)
{
	(void)state;
	p11t_need_control();
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK,
	                             .pReserved = (CK_VOID_PTR) "signature_token=no"};
	assert_int_equal(F->C_Finalize(NULL), CKR_OK);
	assert_int_equal(F->C_Initialize(&args), CKR_OK);
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4;
	assert_int_equal(F->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(slots[0], T.slot[P11T_AUTH]);
	CK_SLOT_INFO si;
	assert_int_equal(F->C_GetSlotInfo(T.slot[P11T_SIGN], &si), CKR_SLOT_ID_INVALID);
	CK_SLOT_ID ev;
	assert_int_equal(F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_OK);
	assert_int_equal(ev, T.slot[P11T_AUTH]);
	assert_int_equal(F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_NO_EVENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    P11T_BOTH(test_states),
	    P11T_BOTH(test_session_info),
	    P11T_BOTH(test_open_arguments),
	    P11T_BOTH(test_close),
	    P11T_BOTH(test_last_close_logs_out),
	    P11T_BOTH(test_session_counts),
	    P11T_BOTH(test_token_info),
	    P11T_BOTH(test_slots),
	    P11T_BOTH(test_mechanisms),
	    P11T_BOTH(test_write_rules),
	    P11T_BOTH(test_not_supported),
	    P11T_BOTH(test_legacy),
	    P11T_BOTH(test_device_removed),
	    P11T_BOTH(test_signature_token_off),
	};
	return p11t_run("p11-session", tests, KZ_ARRAY_LEN(tests));
}
