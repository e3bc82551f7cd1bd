/* The module's one global state: initialisation, the lock, configuration,
 * reader back ends, readers (slots) and sessions. Everything here is read
 * and written under kz_mod.lock, taken by the entry points, except the two
 * atomic flags, which kz_module_enter reads before it has the lock. */
#ifndef KZ_PKCS11_MODULE_H
#define KZ_PKCS11_MODULE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "pkcs11/configuration.h"
#include "pkcs11/lock.h"
#include "pkcs11/p11.h"
#include "pkcs11/token.h"

typedef struct kz_session kz_session;

typedef struct kz_module {
	atomic_bool initialized;
	pid_t pid; /* of the process that initialised: a forked child starts over */
	kz_lock *lock;
	kz_config config;
	kz_backend *backends[2];
	size_t backend_count;
	kz_reader **readers; /* grows only: slot ids stay valid */
	size_t reader_count;
	kz_session **sessions;
	size_t session_count;
	CK_SESSION_HANDLE last_session;
	/* Threads blocked in C_WaitForSlotEvent outside the lock; C_Finalize
	 * cancels them and waits until they are gone before it frees what
	 * they use. */
	unsigned waiters;
	atomic_bool finalizing;
	/* C_Finalize gave up waiting for a call stuck in a silent card
	 * exchange: it freed nothing that call may still use (lock, tables,
	 * back ends). C_Initialize frees it once that call has ended. */
	atomic_bool abandoned;
	/* Told of every departure of a phone (token.c), with the module lock
	 * held: the session layer closes that tap's sessions. State flows one
	 * way: the token layer knows nothing of sessions. */
	void (*on_departure)(const kz_reader *r);
	/* Told, with the module lock held, when the card forgot a PIN whose
	 * token this process was logged in to (the application selected again
	 * to make it forget the signature password): the session layer ends
	 * that token's operations, as at a logout. */
	void (*on_login_ended)(const kz_reader *r, jpki_key key);
} kz_module;

extern kz_module kz_mod;
/* In a forked child that initialised again: the parent's state, set aside
 * untouched (its PC/SC contexts are the parent's to release). */
extern kz_module kz_mod_parent;

/* Tests only: a back end to use instead of the configured ones. */
extern const kz_backend_ops *kz_test_backend;

CK_RV kz_module_initialize(CK_VOID_PTR args);
CK_RV kz_module_finalize(void);

/* Around every C_* function but C_Initialize, C_Finalize and the
 * function-list calls: counts the call in, unless the module is not (or no
 * longer) initialised. C_Finalize waits until every call counted in has
 * ended before it frees what they use. */
CK_RV kz_module_call_begin(void);
void kz_module_call_end(void);
/* Inside a call: check initialisation and take the lock (a call that
 * blocks, C_WaitForSlotEvent, leaves and takes it again as it needs). */
CK_RV kz_module_enter(void);
void kz_module_leave(void);
/* Initialised by this process (a forked child must initialise again). */
bool kz_module_initialized(void);

/* Reader ownership (kz_reader in token.h), all with the module lock held.
 * kz_reader_take waits while another thread owns r, without the module
 * lock meanwhile (so the world may have changed when it returns); the
 * owner may take again (nested). kz_reader_try never waits: false when
 * another thread owns r. */
void kz_reader_take(kz_reader *r);
bool kz_reader_try(kz_reader *r);
void kz_reader_give(kz_reader *r);
bool kz_reader_mine(const kz_reader *r);
/* For a card exchange: the owner of r lets go of the module lock, and
 * takes it again after. */
void kz_reader_io_begin(kz_reader *r);
void kz_reader_io_end(kz_reader *r);

#endif
