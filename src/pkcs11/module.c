#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pkcs11/backends.h"
#include "pkcs11/module.h"
#include "pkcs11/session.h"
#include "pkcs11/slot.h"
#include "util/log.h"

kz_module kz_mod;
kz_module kz_mod_parent;
const kz_backend_ops *kz_test_backend;

/* C_Initialize and C_Finalize may race in a careless application; this
 * lock is ours alone and exists before any C_Initialize. */
static pthread_mutex_t init_mutex = PTHREAD_MUTEX_INITIALIZER;

/* C_* calls between kz_module_call_begin and kz_module_call_end,
 * C_WaitForSlotEvent included. A call counts itself in before it reads
 * `finalizing`; C_Finalize sets `finalizing` before it reads the count.
 * With sequentially consistent atomics either the call sees C_Finalize
 * coming and backs out, or C_Finalize sees the call and waits for it. */
static atomic_uint in_flight;

#define KZ_FINALIZE_WAIT_MS 5000 /* longest C_Finalize waits for calls to leave */

/* pReserved must be NULL by the letter of PKCS#11, but p11-kit's
 * x-init-reserved and NSS's module parameters arrive there as a string. */
static void configure(const CK_C_INITIALIZE_ARGS *args)
{
	kz_config_defaults(&kz_mod.config);
	kz_config_load_file(&kz_mod.config);
	if (args != NULL && args->pReserved != NULL)
		kz_config_apply_words(&kz_mod.config, (const char *)args->pReserved);
	kz_config_apply_env(&kz_mod.config);
	kz_log_configure(kz_mod.config.log_level,
	                 kz_mod.config.log_file[0] ? kz_mod.config.log_file : NULL,
	                 kz_mod.config.apdu_trace);
}

/* A forked child: the parent's PC/SC contexts, locks and sessions are not
 * ours to release (releasing them would talk to pcscd on the parent's
 * behalf, and a lock may be held by a thread that does not exist here).
 * Set them aside, untouched, and start from nothing. */
static void forget_parent(void)
{
	memcpy(&kz_mod_parent, &kz_mod, sizeof(kz_mod));
	memset(&kz_mod, 0, sizeof(kz_mod));
	atomic_store(&kz_mod.initialized, false);
	atomic_store(&kz_mod.finalizing, false);
	atomic_store(&in_flight, 0);
}

CK_RV kz_module_initialize(CK_VOID_PTR pargs)
{
	const CK_C_INITIALIZE_ARGS *args = pargs;
	CK_RV rv;

	pthread_mutex_lock(&init_mutex);
	if (atomic_load(&kz_mod.initialized) && kz_mod.pid != getpid())
		forget_parent();
	if (atomic_load(&kz_mod.initialized)) {
		pthread_mutex_unlock(&init_mutex);
		return CKR_CRYPTOKI_ALREADY_INITIALIZED;
	}
	if (atomic_load(&kz_mod.abandoned)) {
		/* What the last C_Finalize left to a stuck call: free it once
		 * that call has ended, never under it. */
		if (atomic_load(&in_flight) > 0) {
			KZ_ERROR("C_Initialize: a call from before C_Finalize is still in a "
			         "silent card exchange");
			pthread_mutex_unlock(&init_mutex);
			return CKR_FUNCTION_FAILED;
		}
		kz_lock_take(kz_mod.lock);
		kz_session_free_all();
		kz_slots_free();
		kz_backends_close();
		kz_lock_release(kz_mod.lock);
		kz_lock_free(kz_mod.lock);
		kz_mod.lock = NULL;
		atomic_store(&kz_mod.abandoned, false);
	}
	rv = kz_lock_new(args, &kz_mod.lock);
	if (rv != CKR_OK) {
		pthread_mutex_unlock(&init_mutex);
		return rv;
	}
	configure(args);
	kz_mod.on_departure = kz_session_drop_reader;
	kz_mod.on_login_ended = kz_session_end_operations;
	kz_backends_open();
	kz_slots_enumerate();
	kz_mod.pid = getpid();
	atomic_store(&kz_mod.finalizing, false);
	atomic_store(&kz_mod.initialized, true);
	KZ_INFO("initialised (%s)", PACKAGE_STRING);
	pthread_mutex_unlock(&init_mutex);
	return CKR_OK;
}

/* Wake every thread in C_WaitForSlotEvent and wait until every call has
 * left: they use the back ends and tables, which are about to go. Bounded,
 * in case a back end ignores its cancel. */
static void drain_calls(void)
{
	atomic_store(&kz_mod.finalizing, true);
	for (int ms = 0; atomic_load(&in_flight) > 0 && ms < KZ_FINALIZE_WAIT_MS; ms += 10) {
		/* Again each time: a waiter may have started after the last
		 * cancel. Back ends' cancel is callable from any thread. */
		for (size_t i = 0; i < kz_mod.backend_count; i++)
			kz_mod.backends[i]->ops->cancel(kz_mod.backends[i]);
		struct timespec ten_ms = {0, 10 * 1000 * 1000};
		nanosleep(&ten_ms, NULL);
	}
	if (atomic_load(&in_flight) > 0)
		KZ_ERROR("C_Finalize: %u call(s) still running", atomic_load(&in_flight));
}

/* C_Finalize with a call still inside a card exchange that does not end
 * (a phone that went silent without leaving, behind a reader that never
 * times out: pcsc-lite cannot cancel an SCardTransmit). That call let go
 * of the module lock and holds its reader, its session and its back end:
 * none of them, nor the lock, nor the tables it may look at, is freed
 * under it. Every other reader is made to forget our PINs, as always;
 * the rest waits for C_Initialize (or the process's end). Called with
 * the module lock; returns without it. */
static void abandon(void)
{
	KZ_ERROR("C_Finalize: %u call(s) still in a card exchange; what they use stays allocated",
	         atomic_load(&in_flight));
	for (size_t i = 0; i < kz_mod.reader_count; i++) {
		kz_reader *r = kz_mod.readers[i];
		if (kz_reader_try(r)) {
			kz_token_forget_pins(r);
			kz_reader_give(r);
		}
	}
	atomic_store(&kz_mod.abandoned, true);
	atomic_store(&kz_mod.initialized, false);
	kz_mod.waiters = 0;
	atomic_store(&kz_mod.finalizing, false);
	kz_lock_release(kz_mod.lock);
	KZ_INFO("finalised (abandoning a stuck call)");
}

CK_RV kz_module_finalize(void)
{
	pthread_mutex_lock(&init_mutex);
	if (!kz_module_initialized()) {
		pthread_mutex_unlock(&init_mutex);
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	drain_calls();
	kz_lock_take(kz_mod.lock);
	if (atomic_load(&in_flight) > 0) {
		abandon();
		pthread_mutex_unlock(&init_mutex);
		return CKR_OK;
	}
	kz_session_free_all();
	kz_slots_free();
	kz_backends_close();
	atomic_store(&kz_mod.initialized, false);
	kz_lock_release(kz_mod.lock);
	kz_lock_free(kz_mod.lock);
	kz_mod.lock = NULL;
	kz_mod.waiters = 0;
	atomic_store(&kz_mod.finalizing, false);
	KZ_INFO("finalised");
	kz_log_close();
	pthread_mutex_unlock(&init_mutex);
	return CKR_OK;
}

bool kz_module_initialized(void)
{
	return atomic_load(&kz_mod.initialized) && kz_mod.pid == getpid();
}

CK_RV kz_module_call_begin(void)
{
	atomic_fetch_add(&in_flight, 1);
	if (!kz_module_initialized() || atomic_load(&kz_mod.finalizing)) {
		atomic_fetch_sub(&in_flight, 1);
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	return CKR_OK;
}

void kz_module_call_end(void)
{
	atomic_fetch_sub(&in_flight, 1);
}

CK_RV kz_module_enter(void)
{
	if (!kz_module_initialized() || atomic_load(&kz_mod.finalizing))
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	kz_lock_take(kz_mod.lock);
	return CKR_OK;
}

void kz_module_leave(void)
{
	kz_lock_release(kz_mod.lock);
}

bool kz_reader_mine(const kz_reader *r)
{
	return r->busy && pthread_equal(r->owner, pthread_self());
}

bool kz_reader_try(kz_reader *r)
{
	if (kz_reader_mine(r)) {
		r->depth++;
		return true;
	}
	if (r->busy)
		return false;
	r->busy = true;
	r->owner = pthread_self();
	r->depth = 1;
	return true;
}

void kz_reader_take(kz_reader *r)
{
	while (!kz_reader_try(r)) {
		/* The owner is in a card exchange, holding io (it cannot be
		 * anywhere else while we hold the module lock): wait for that
		 * exchange to end, then look again. No thread ever holds io
		 * and the module lock together. */
		kz_lock *io = r->io;
		kz_module_leave();
		kz_lock_take(io);
		kz_lock_release(io);
		kz_lock_take(kz_mod.lock);
	}
}

void kz_reader_give(kz_reader *r)
{
	if (r == NULL || !kz_reader_mine(r) || --r->depth > 0)
		return;
	r->busy = false;
}

void kz_reader_io_begin(kz_reader *r)
{
	/* Only an owner may work without the module lock: nobody else
	 * touches the token meanwhile. Anything else keeps the lock (and
	 * holds other threads for the exchange, as before ownership). */
	if (!kz_reader_mine(r) || r->window)
		return;
	r->window = true;
	kz_lock_release(kz_mod.lock);
	kz_lock_take(r->io);
}

void kz_reader_io_end(kz_reader *r)
{
	if (!r->window)
		return;
	kz_lock_release(r->io);
	kz_lock_take(kz_mod.lock);
	r->window = false;
}
