/* C_Login, C_Logout, C_SetPIN and the PIN flags: form checks that cost no
 * try, retry counters through a full lockout, the signature password
 * upper-cased, PIN changes of both tokens. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "p11fixture.h"

#define F      T.f
#define PIN(s) (CK_UTF8CHAR_PTR)(s), (CK_ULONG)strlen(s)

static const CK_FLAGS pin_flags =
    CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED;

static CK_RV login(CK_SESSION_HANDLE h, const char *pin)
{
	return F->C_Login(h, CKU_USER, PIN(pin));
}

static void test_login_logout(void **state)
{
	(void)state;
	CK_SESSION_HANDLE a = p11t_open(P11T_AUTH, false);
	CK_SESSION_HANDLE b = p11t_open(P11T_AUTH, false);
	assert_int_equal(F->C_Logout(a), CKR_USER_NOT_LOGGED_IN);
	p11t_login(a, P11T_AUTH);
	assert_int_equal(login(a, p11t_pin[P11T_AUTH]), CKR_USER_ALREADY_LOGGED_IN);
	assert_int_equal(login(b, p11t_pin[P11T_AUTH]), CKR_USER_ALREADY_LOGGED_IN);
	assert_int_equal(F->C_Logout(b), CKR_OK);
	assert_int_equal(F->C_Logout(a), CKR_USER_NOT_LOGGED_IN);
	assert_int_equal(F->C_Logout(a + 1000), CKR_SESSION_HANDLE_INVALID);
	/* Each token has its own login. */
	CK_SESSION_HANDLE s = p11t_open(P11T_SIGN, false);
	p11t_login(s, P11T_SIGN);
	p11t_login(a, P11T_AUTH);
	assert_int_equal(p11t_state(s), CKS_RO_USER_FUNCTIONS);
	assert_int_equal(F->C_Logout(a), CKR_OK);
	assert_int_equal(p11t_state(s), CKS_RO_USER_FUNCTIONS);
	/* The card has one security state, and the signature password is
	 * never left verified on it: the selection that makes the card
	 * forget it also ends the user-authentication login. */
	p11t_login(a, P11T_AUTH);
	assert_int_equal(F->C_Logout(s), CKR_OK);
	assert_int_equal(p11t_state(a), CKS_RO_USER_FUNCTIONS);
	/* ... and its operations, as a logout would. */
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	assert_int_equal(F->C_SignInit(a, &mech, p11t_find(a, CKO_PRIVATE_KEY)), CKR_OK);
	p11t_login(s, P11T_SIGN);
	CK_BYTE sig[256];
	CK_ULONG len = sizeof(sig);
	assert_int_equal(F->C_Sign(a, (CK_BYTE_PTR) "x", 1, sig, &len),
	                 CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(p11t_state(a), CKS_RO_PUBLIC_SESSION);
	assert_int_equal(p11t_state(s), CKS_RO_USER_FUNCTIONS);
}

static void test_login_arguments(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h = p11t_open(P11T_AUTH, false);
	/* JPKI has no security officer. */
	assert_int_equal(F->C_Login(h, CKU_SO, PIN("1234")), CKR_USER_TYPE_INVALID);
	assert_int_equal(F->C_Login(h, 42, PIN("1234")), CKR_USER_TYPE_INVALID);
	/* No protected authentication path: a PIN is needed. */
	assert_int_equal(F->C_Login(h, CKU_USER, NULL, 0), CKR_ARGUMENTS_BAD);
	/* A context login belongs to an operation. */
	assert_int_equal(F->C_Login(h, CKU_CONTEXT_SPECIFIC, PIN("1234")),
	                 CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(p11t_state(h), CKS_RO_PUBLIC_SESSION);
}

/* A PIN that can never be right is refused before it is sent. */
static void test_pin_forms(void **state)
{
	(void)state;
	CK_SESSION_HANDLE a = p11t_open(P11T_AUTH, false);
	CK_SESSION_HANDLE s = p11t_open(P11T_SIGN, false);
	unsigned long sent = T.external ? 0 : p11t_transmits();
	assert_int_equal(login(a, "12"), CKR_PIN_LEN_RANGE);
	assert_int_equal(login(a, "12345"), CKR_PIN_LEN_RANGE);
	assert_int_equal(login(a, "12a4"), CKR_PIN_INVALID);
	assert_int_equal(login(s, "ABC12"), CKR_PIN_LEN_RANGE);
	assert_int_equal(login(s, "ABCDEFGH123456789"), CKR_PIN_LEN_RANGE);
	assert_int_equal(login(s, "ABC-123"), CKR_PIN_INVALID);
	assert_int_equal(login(s, "ABC 123"), CKR_PIN_INVALID);
	if (!T.external)
		assert_int_equal(p11t_transmits(), sent);
	assert_int_equal(p11t_token_flags(P11T_AUTH) & pin_flags, 0);
	assert_int_equal(p11t_token_flags(P11T_SIGN) & pin_flags, 0);
}

/* As the official JPKI client does: the password is upper-cased. */
static void test_password_upper_cased(void **state)
{
	(void)state;
	CK_SESSION_HANDLE s = p11t_open(P11T_SIGN, false);
	assert_int_equal(login(s, "abc123"), CKR_OK);
	assert_int_equal(F->C_Logout(s), CKR_OK);
	assert_int_equal(login(s, "aBc123"), CKR_OK);
}

/* One wrong PIN: the count is low; the right one clears it. Leaves the
 * phone as it found it, so it runs against an external module too. */
static void test_wrong_then_right(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		CK_SESSION_HANDLE h = p11t_open(k, false);
		const char *wrong = k == P11T_AUTH ? "9999" : "WRONG1";
		assert_int_equal(login(h, wrong), CKR_PIN_INCORRECT);
		assert_int_equal(p11t_token_flags(k) & pin_flags, CKF_USER_PIN_COUNT_LOW);
		assert_int_equal(p11t_state(h), CKS_RO_PUBLIC_SESSION);
		p11t_login(h, k);
		assert_int_equal(p11t_token_flags(k) & pin_flags, 0);
	}
}

/* Wrong PINs until the PIN is blocked, with the flags at each step; then
 * nothing more is sent, not even the right PIN. */
static void lockout(int token, int tries, const char *wrong)
{
	p11t_need_control();
	CK_SESSION_HANDLE h = p11t_open(token, false);
	for (int left = tries - 1; left > 0; left--) {
		assert_int_equal(login(h, wrong), CKR_PIN_INCORRECT);
		CK_FLAGS want = CKF_USER_PIN_COUNT_LOW | (left == 1 ? CKF_USER_PIN_FINAL_TRY : 0);
		assert_int_equal(p11t_token_flags(token) & pin_flags, want);
		assert_int_equal(sim_phone_tries_left(T.phone, token == P11T_SIGN), left);
	}
	/* The attempt that uses the last try blocks the PIN: the card says
	 * so (63C0), and so does the module. */
	assert_int_equal(login(h, wrong), CKR_PIN_LOCKED);
	assert_int_equal(p11t_token_flags(token) & pin_flags, CKF_USER_PIN_LOCKED);
	unsigned long sent = p11t_transmits();
	assert_int_equal(login(h, p11t_pin[token]), CKR_PIN_LOCKED);
	assert_int_equal(login(h, wrong), CKR_PIN_LOCKED);
	assert_int_equal(p11t_transmits(), sent);
	/* The other token is not touched. */
	assert_int_equal(p11t_token_flags(1 - token) & pin_flags, 0);
	p11t_login(p11t_open(1 - token, false), 1 - token);
}

static void test_lockout_auth(void **state)
{
	(void)state;
	lockout(P11T_AUTH, 3, "0000");
}

static void test_lockout_sign(void **state)
{
	(void)state;
	lockout(P11T_SIGN, 5, "WRONG1");
}

/* The flags come from the tries the phone reports when it arrives. */
static void test_tries_at_arrival(void **state)
{
	(void)state;
	p11t_restart(1, 2);
	assert_int_equal(p11t_token_flags(P11T_AUTH) & pin_flags,
	                 CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY);
	assert_int_equal(p11t_token_flags(P11T_SIGN) & pin_flags, CKF_USER_PIN_COUNT_LOW);
	p11t_restart(-1, 0);
	assert_int_equal(p11t_token_flags(P11T_AUTH) & pin_flags, CKF_USER_PIN_LOCKED);
	assert_int_equal(p11t_token_flags(P11T_SIGN) & pin_flags, 0);
	unsigned long sent = p11t_transmits();
	assert_int_equal(login(p11t_open(P11T_AUTH, false), "1234"), CKR_PIN_LOCKED);
	assert_int_equal(p11t_transmits(), sent);
}

/* Change a PIN and back; a session that was public stays public. */
static void change_and_back(int token, const char *new_pin, const char *new_login)
{
	const char *old = p11t_pin[token];
	CK_SESSION_HANDLE h = p11t_open(token, true);
	assert_int_equal(F->C_SetPIN(h, PIN(old), PIN(new_pin)), CKR_OK);
	assert_int_equal(p11t_state(h), CKS_RW_PUBLIC_SESSION);
	assert_int_equal(p11t_token_flags(token) & pin_flags, 0);
	assert_int_equal(login(h, new_login), CKR_OK);
	/* Logged in, C_SetPIN changes the logged-in user's PIN. */
	assert_int_equal(F->C_SetPIN(h, PIN(new_login), PIN(old)), CKR_OK);
	assert_int_equal(p11t_state(h), CKS_RW_USER_FUNCTIONS);
	assert_int_equal(F->C_Logout(h), CKR_OK);
	p11t_login(h, token);
}

static void test_set_pin_auth(void **state)
{
	(void)state;
	change_and_back(P11T_AUTH, "5678", "5678");
}

static void test_set_pin_sign(void **state)
{
	(void)state;
	/* The new password is upper-cased as well: "newpass9" is NEWPASS9. */
	change_and_back(P11T_SIGN, "newpass9", "NEWPASS9");
}

static void test_set_pin_checks(void **state)
{
	(void)state;
	CK_SESSION_HANDLE ro = p11t_open(P11T_AUTH, false);
	CK_SESSION_HANDLE rw = p11t_open(P11T_AUTH, true);
	CK_SESSION_HANDLE srw = p11t_open(P11T_SIGN, true);
	assert_int_equal(F->C_SetPIN(ro, PIN("1234"), PIN("5678")), CKR_SESSION_READ_ONLY);
	/* Both values are judged before anything is sent. */
	unsigned long sent = T.external ? 0 : p11t_transmits();
	assert_int_equal(F->C_SetPIN(rw, PIN("1234"), PIN("567")), CKR_PIN_LEN_RANGE);
	assert_int_equal(F->C_SetPIN(rw, PIN("1234"), PIN("56a8")), CKR_PIN_INVALID);
	assert_int_equal(F->C_SetPIN(rw, PIN("12"), PIN("5678")), CKR_PIN_LEN_RANGE);
	assert_int_equal(F->C_SetPIN(srw, PIN("ABC123"), PIN("SHORT")), CKR_PIN_LEN_RANGE);
	assert_int_equal(F->C_SetPIN(srw, PIN("ABC123"), PIN("NOT-GOOD")), CKR_PIN_INVALID);
	assert_int_equal(F->C_SetPIN(rw, NULL, 4, PIN("5678")), CKR_ARGUMENTS_BAD);
	assert_int_equal(F->C_SetPIN(rw, PIN("1234"), NULL, 4), CKR_ARGUMENTS_BAD);
	if (!T.external)
		assert_int_equal(p11t_transmits(), sent);
	assert_int_equal(p11t_token_flags(P11T_AUTH) & pin_flags, 0);
	/* A wrong old PIN costs its try, like a wrong login. */
	assert_int_equal(F->C_SetPIN(rw, PIN("9999"), PIN("5678")), CKR_PIN_INCORRECT);
	assert_int_equal(p11t_token_flags(P11T_AUTH) & pin_flags, CKF_USER_PIN_COUNT_LOW);
	p11t_login(rw, P11T_AUTH);
	assert_int_equal(p11t_token_flags(P11T_AUTH) & pin_flags, 0);
}

static void test_set_pin_locked(void **state)
{
	(void)state;
	p11t_restart(0, -1);
	CK_SESSION_HANDLE h = p11t_open(P11T_SIGN, true);
	assert_int_equal(F->C_SetPIN(h, PIN("ABC123"), PIN("XYZ789")), CKR_PIN_LOCKED);
}

/* A logout ends what the user began. */
static void test_logout_ends_operations(void **state)
{
	(void)state;
	CK_SESSION_HANDLE h = p11t_open(P11T_AUTH, false);
	p11t_login(h, P11T_AUTH);
	CK_OBJECT_HANDLE key = p11t_find(h, CKO_PRIVATE_KEY);
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	assert_int_equal(F->C_SignInit(h, &mech, key), CKR_OK);
	assert_int_equal(F->C_FindObjectsInit(h, NULL, 0), CKR_OK);
	assert_int_equal(F->C_Logout(h), CKR_OK);
	CK_BYTE sig[256];
	CK_ULONG len = sizeof(sig);
	CK_OBJECT_HANDLE found[4];
	CK_ULONG n;
	assert_int_equal(F->C_Sign(h, (CK_BYTE_PTR) "x", 1, sig, &len),
	                 CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(F->C_FindObjects(h, found, 4, &n), CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(F->C_SignInit(h, &mech, key), CKR_USER_NOT_LOGGED_IN);
}

/* PKCS#11 3.0's C_LoginUser: JPKI has no user names; any is accepted. */
static void test_login_user(void **state)
{
	(void)state;
	CK_FUNCTION_LIST_3_0 *f3 = p11t_list_3_0();
	if (f3 == NULL)
		skip();
	CK_SESSION_HANDLE h = p11t_open(P11T_AUTH, false);
	assert_int_equal(f3->C_LoginUser(h, CKU_USER, PIN("1234"), NULL, 5), CKR_ARGUMENTS_BAD);
	assert_int_equal(f3->C_LoginUser(h, CKU_USER, PIN("1234"), PIN("anyone")), CKR_OK);
	assert_int_equal(p11t_state(h), CKS_RO_USER_FUNCTIONS);
	assert_int_equal(f3->C_LoginUser(h, CKU_USER, PIN("1234"), NULL, 0),
	                 CKR_USER_ALREADY_LOGGED_IN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    P11T_BOTH(test_login_logout),
	    P11T_BOTH(test_login_arguments),
	    P11T_BOTH(test_pin_forms),
	    P11T_BOTH(test_password_upper_cased),
	    P11T_BOTH(test_wrong_then_right),
	    P11T_BOTH(test_lockout_auth),
	    P11T_BOTH(test_lockout_sign),
	    P11T_BOTH(test_tries_at_arrival),
	    P11T_BOTH(test_set_pin_auth),
	    P11T_BOTH(test_set_pin_sign),
	    P11T_BOTH(test_set_pin_checks),
	    P11T_BOTH(test_set_pin_locked),
	    P11T_BOTH(test_logout_ends_operations),
	    P11T_BOTH(test_login_user),
	};
	return p11t_run("p11-login", tests, KZ_ARRAY_LEN(tests));
}
