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
const kz_backend_ops *kz_test_backend;

/* C_Initialize and C_Finalize may race in a careless application; this
 * lock is ours alone and exists before any C_Initialize. */
static pthread_mutex_t init_mutex = PTHREAD_MUTEX_INITIALIZER;

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

CK_RV kz_module_initialize(CK_VOID_PTR pargs)
{
	const CK_C_INITIALIZE_ARGS *args = pargs;
	CK_RV rv;

	pthread_mutex_lock(&init_mutex);
	if (kz_mod.initialized && kz_mod.pid != getpid()) {
		/* A forked child: the parent's PC/SC contexts and locks are not
		 * ours to release. Forget them and start over. */
		memset(&kz_mod, 0, sizeof(kz_mod));
	}
	if (kz_mod.initialized) {
		pthread_mutex_unlock(&init_mutex);
		return CKR_CRYPTOKI_ALREADY_INITIALIZED;
	}
	rv = kz_lock_new(args, &kz_mod.lock);
	if (rv != CKR_OK) {
		pthread_mutex_unlock(&init_mutex);
		return rv;
	}
	configure(args);
	kz_backends_open();
	kz_mod.pid = getpid();
	kz_mod.initialized = true;
	KZ_INFO("initialised (%s)", PACKAGE_STRING);
	pthread_mutex_unlock(&init_mutex);
	return CKR_OK;
}

/* Wake every thread in C_WaitForSlotEvent and wait until they have left:
 * they use the back ends, which are about to go. Bounded, in case a back
 * end ignores its cancel. */
static void release_waiters(void)
{
	kz_lock_take(kz_mod.lock);
	kz_mod.finalizing = true;
	for (size_t i = 0; i < kz_mod.backend_count; i++)
		kz_mod.backends[i]->ops->cancel(kz_mod.backends[i]);
	for (int ms = 0; kz_mod.waiters > 0 && ms < 5000; ms += 10) {
		kz_lock_release(kz_mod.lock);
		struct timespec ten_ms = {0, 10 * 1000 * 1000};
		nanosleep(&ten_ms, NULL);
		kz_lock_take(kz_mod.lock);
	}
	if (kz_mod.waiters > 0)
		KZ_ERROR("C_Finalize: %u thread(s) still waiting for slot events", kz_mod.waiters);
	kz_lock_release(kz_mod.lock);
}

CK_RV kz_module_finalize(void)
{
	pthread_mutex_lock(&init_mutex);
	if (!kz_mod.initialized || kz_mod.pid != getpid()) {
		pthread_mutex_unlock(&init_mutex);
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	release_waiters();
	kz_lock_take(kz_mod.lock);
	kz_session_free_all();
	kz_slots_free();
	kz_backends_close();
	kz_mod.initialized = false;
	kz_mod.finalizing = false;
	kz_lock_release(kz_mod.lock);
	kz_lock_free(kz_mod.lock);
	kz_mod.lock = NULL;
	KZ_INFO("finalised");
	kz_log_close();
	pthread_mutex_unlock(&init_mutex);
	return CKR_OK;
}

CK_RV kz_module_enter(void)
{
	if (!kz_mod.initialized || kz_mod.finalizing || kz_mod.pid != getpid())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	kz_lock_take(kz_mod.lock);
	return CKR_OK;
}

void kz_module_leave(void)
{
	kz_lock_release(kz_mod.lock);
}
