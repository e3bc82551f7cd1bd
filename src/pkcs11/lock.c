#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdlib.h>

#include "pkcs11/lock.h"
#include "util/log.h"

struct kz_lock {
	enum { KZ_LOCK_OS, KZ_LOCK_CALLER } kind;
	pthread_mutex_t os;
	void *caller;
	CK_CREATEMUTEX create;
	CK_DESTROYMUTEX destroy;
	CK_LOCKMUTEX lock;
	CK_UNLOCKMUTEX unlock;
};

static int callbacks_given(const CK_C_INITIALIZE_ARGS *a)
{
	return (a->CreateMutex != NULL) + (a->DestroyMutex != NULL) + (a->LockMutex != NULL) +
	       (a->UnlockMutex != NULL);
}

CK_RV kz_lock_new(const CK_C_INITIALIZE_ARGS *args, kz_lock **out)
{
	kz_lock *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return CKR_HOST_MEMORY;
	int given = args ? callbacks_given(args) : 0;
	if (given != 0 && given != 4) {
		free(l);
		return CKR_ARGUMENTS_BAD;
	}
	/* The specification's four cases. With OS locking allowed we always
	 * prefer it, callbacks or not: it is what Java (NULL callbacks) and
	 * NSS (both) expect, and it cannot fail half-way. */
	if (args != NULL && (args->flags & CKF_OS_LOCKING_OK)) {
		l->kind = KZ_LOCK_OS;
	} else if (given == 4) {
		l->kind = KZ_LOCK_CALLER;
		l->create = args->CreateMutex;
		l->destroy = args->DestroyMutex;
		l->lock = args->LockMutex;
		l->unlock = args->UnlockMutex;
		if (l->create(&l->caller) != CKR_OK) {
			free(l);
			return CKR_CANT_LOCK;
		}
	} else {
		/* No flags, no callbacks: the caller promises one thread. We
		 * still lock with pthreads, which is harmless for one thread
		 * and protects our own waiter thread interplay. */
		l->kind = KZ_LOCK_OS;
	}
	if (l->kind == KZ_LOCK_OS && pthread_mutex_init(&l->os, NULL) != 0) {
		free(l);
		return CKR_CANT_LOCK;
	}
	*out = l;
	return CKR_OK;
}

CK_RV kz_lock_like(const kz_lock *like, kz_lock **out)
{
	kz_lock *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return CKR_HOST_MEMORY;
	l->kind = like->kind;
	if (l->kind == KZ_LOCK_CALLER) {
		l->create = like->create;
		l->destroy = like->destroy;
		l->lock = like->lock;
		l->unlock = like->unlock;
		if (l->create(&l->caller) != CKR_OK) {
			free(l);
			return CKR_CANT_LOCK;
		}
	} else if (pthread_mutex_init(&l->os, NULL) != 0) {
		free(l);
		return CKR_CANT_LOCK;
	}
	*out = l;
	return CKR_OK;
}

void kz_lock_free(kz_lock *l)
{
	if (l == NULL)
		return;
	if (l->kind == KZ_LOCK_OS)
		pthread_mutex_destroy(&l->os);
	else if (l->kind == KZ_LOCK_CALLER)
		l->destroy(l->caller);
	free(l);
}

void kz_lock_take(kz_lock *l)
{
	if (l->kind == KZ_LOCK_OS)
		pthread_mutex_lock(&l->os);
	else if (l->kind == KZ_LOCK_CALLER && l->lock(l->caller) != CKR_OK)
		KZ_ERROR("the application's LockMutex failed");
}

void kz_lock_release(kz_lock *l)
{
	if (l->kind == KZ_LOCK_OS)
		pthread_mutex_unlock(&l->os);
	else if (l->kind == KZ_LOCK_CALLER && l->unlock(l->caller) != CKR_OK)
		KZ_ERROR("the application's UnlockMutex failed");
}
