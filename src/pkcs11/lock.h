/* Locking as CK_C_INITIALIZE_ARGS asks: the caller's mutex callbacks, the
 * operating system's (pthreads), or none for a single-threaded caller. */
#ifndef KZ_PKCS11_LOCK_H
#define KZ_PKCS11_LOCK_H

#include "pkcs11/p11.h"

typedef struct kz_lock kz_lock;

/* args may be NULL (no locking asked for: the caller is single-threaded).
 * CKR_ARGUMENTS_BAD for a partial set of callbacks, CKR_CANT_LOCK when
 * locking is required but neither OS locking nor callbacks are allowed. */
CK_RV kz_lock_new(const CK_C_INITIALIZE_ARGS *args, kz_lock **out);
/* Another lock of the same kind as `like` (the caller's callbacks, or
 * the OS's): one per reader, besides the module's. */
CK_RV kz_lock_like(const kz_lock *like, kz_lock **out);
void kz_lock_free(kz_lock *l);
void kz_lock_take(kz_lock *l);
void kz_lock_release(kz_lock *l);

#endif
