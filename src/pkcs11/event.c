#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <time.h>

#include "pkcs11/event.h"
#include "pkcs11/module.h"
#include "pkcs11/slot.h"
#include "util/log.h"

#define KZ_WAIT_SLICE_MS  500 /* longest wait in a back end: bounds a missed cancel */
#define KZ_WAIT_SHARED_MS 200 /* each back end's turn when there are several */

/* The first slot with an event not yet reported; clears its flag. */
static bool take_event(CK_SLOT_ID *slot)
{
	for (size_t i = 0; i < kz_mod.reader_count; i++) {
		kz_reader *r = kz_mod.readers[i];
		for (int k = 0; k < JPKI_KEY_COUNT; k++) {
			bool pending = r->event[k];
			r->event[k] = false;
			/* A slot the configuration does not offer has no events. */
			if (pending && kz_slot_find(KZ_SLOT_ID(i, k), NULL) != NULL) {
				*slot = KZ_SLOT_ID(i, k);
				return true;
			}
		}
	}
	return false;
}

/* Block in one back end until its readers differ from what they are now.
 * The module lock is not held: other threads sign meanwhile. */
static void wait_backend(kz_backend *b, unsigned timeout_ms)
{
	kz_reader_state known[16];
	size_t n = 0;
	if (b->ops->list(b, known, 16, &n) != KZ_OK)
		n = 0;
	kz_err e = b->ops->wait(b, known, n, timeout_ms);
	if (e != KZ_OK && e != KZ_E_TIMEOUT && e != KZ_E_CANCELLED) {
		/* No service (pcscd stopped): do not spin on the error. */
		struct timespec pause = {0, (long)timeout_ms * 1000000L};
		nanosleep(&pause, NULL);
	}
}

CK_RV kz_wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID_PTR slot)
{
	CK_RV rv = kz_module_enter();
	if (rv != CKR_OK)
		return rv;
	if (slot == NULL) {
		kz_module_leave();
		return CKR_ARGUMENTS_BAD;
	}
	kz_mod.waiters++;
	for (;;) {
		kz_slots_refresh();
		if (take_event(slot)) {
			rv = CKR_OK;
			break;
		}
		if (flags & CKF_DONT_BLOCK) {
			rv = CKR_NO_EVENT;
			break;
		}
		if (kz_mod.finalizing) {
			rv = CKR_CRYPTOKI_NOT_INITIALIZED;
			break;
		}
		size_t count = kz_mod.backend_count;
		unsigned slice = count > 1 ? KZ_WAIT_SHARED_MS : KZ_WAIT_SLICE_MS;
		kz_module_leave();
		for (size_t i = 0; i < count; i++)
			wait_backend(kz_mod.backends[i], slice);
		if (count == 0) {
			struct timespec pause = {0, KZ_WAIT_SHARED_MS * 1000000L};
			nanosleep(&pause, NULL);
		}
		kz_lock_take(kz_mod.lock);
	}
	kz_mod.waiters--;
	kz_module_leave();
	return rv;
}
