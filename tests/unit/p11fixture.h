/* The fixture of the PKCS#11 conformance programs (test-p11-*). A program
 * runs its tests against one of two modules:
 *
 *  - in-process (the default): the module's code linked into the program,
 *    its reader back end the simulated phone (tests/sim/backend.h). Every
 *    test gets a new phone of its persona and a fresh C_Initialize, and
 *    may make the phone leave, lock its PINs, count its APDUs.
 *  - external, when KZ_P11_MODULE names a module file: that module (the
 *    built kazashi-pkcs11.so, or p11-kit-proxy.so in front of it) is
 *    loaded with dlopen and tested through its function list, against the
 *    phone its environment provides (tests/integration/conformance-*.sh:
 *    pcscd, vpcd, kazashi-phone-sim of persona KZ_PERSONA, PKI in KZ_PKI).
 *    Tests that must control the phone are skipped; the others leave the
 *    phone as they found it (PINs, tries). Behind the proxy, the few
 *    answers p11-kit gives itself (unknown slot ids) are not checked.
 *
 * Each test is registered once per persona (P11T_BOTH); an external run
 * keeps the ones of its persona. */
#ifndef KZ_TESTS_UNIT_P11FIXTURE_H
#define KZ_TESTS_UNIT_P11FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "pkcs11/p11.h"
#include "phone.h"

#define P11T_AUTH 0 /* the user-authentication token (JPKI_KEY_AUTH) */
#define P11T_SIGN 1 /* the digital-signature token (JPKI_KEY_SIGN) */

extern const char *const p11t_pin[2];   /* the phone's PINs: "1234", "ABC123" */
extern const char *const p11t_label[2]; /* token labels */

typedef struct p11t {
	CK_FUNCTION_LIST *f; /* the module under test */
	CK_SLOT_ID slot[2];  /* by P11T_AUTH / P11T_SIGN */
	sim_persona persona;
	char *pki;        /* the PKI the phone holds */
	bool external;    /* no control of the phone */
	bool proxy;       /* external, behind p11-kit's proxy (KZ_P11_PROXY=1) */
	sim_phone *phone; /* in-process only */
	int auth_tries;   /* the next phone's tries (0 = default) */
	int sign_tries;
} p11t;

extern p11t T;
extern sim_persona p11t_android, p11t_card;

/* Per test: a phone of the persona in *state, the module initialised. */
int p11t_setup(void **state);
int p11t_teardown(void **state);

/* Per test, for tests of C_Initialize itself: the phone only. The
 * teardown finalises if the test left the module initialised. */
int p11t_setup_phone(void **state);
int p11t_teardown_phone(void **state);

#define P11T_TEST(f, persona)                                                                      \
	{                                                                                          \
#persona "/" #f, f, p11t_setup, p11t_teardown, &p11t_##persona                     \
	}
#define P11T_BOTH(f) P11T_TEST(f, android), P11T_TEST(f, card)

/* Run the tests of a program (PKI made once), keeping only the external
 * persona's when external. */
int p11t_run(const char *name, const struct CMUnitTest *tests, size_t count);

/* The test needs the in-process phone: skipped when external. */
void p11t_need_control(void);
/* Start over with a new phone whose PINs have these tries left (0 = the
 * default, negative = blocked): finalise, new phone, initialise. */
void p11t_restart(int auth_tries, int sign_tries);
/* Finalise and initialise again, the same phone in place, with these
 * key=value words in pReserved (skipped behind p11-kit's proxy). */
void p11t_reinit(const char *words);
/* APDUs the in-process phone has been sent so far. */
unsigned long p11t_transmits(void);

/* The module's "PKCS 11" 3.0 function list, or NULL if it has none (p11-kit
 * 0.24's proxy is a 2.40 module). */
CK_FUNCTION_LIST_3_0 *p11t_list_3_0(void);

CK_SESSION_HANDLE p11t_open(int token, bool rw);
void p11t_login(CK_SESSION_HANDLE h, int token);
CK_FLAGS p11t_token_flags(int token);
CK_STATE p11t_state(CK_SESSION_HANDLE h);
/* The one object of a class on the session's token, or CK_INVALID_HANDLE. */
CK_OBJECT_HANDLE p11t_find(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls);
/* How many objects a template finds. */
CK_ULONG p11t_count(CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n);
/* Whether sig is a PKCS#1 v1.5 signature of data (hashed with md, an
 * OpenSSL digest name, or taken as is when md is NULL) under the token's
 * certificate in the PKI. */
bool p11t_verifies(int token, const char *md, const uint8_t *data, size_t len, const uint8_t *sig,
                   size_t sig_len);

#endif
