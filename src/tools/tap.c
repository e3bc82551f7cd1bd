#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include "tools/exitcode.h"
#include "tools/module.h"
#include "pkcs11/rv-name.h"
#include "tools/tap.h"

/* A tap lasts a second or two: look often. Even with slot events, look
 * every ~1 s (every 7th round): a missed event must not leave a kiosk
 * waiting for ever. */
#define KC_TAP_POLL_MS    150
#define KC_TAP_LOOK_EVERY 7

/* The first present token for KIND, if any. */
static CK_RV find_present(CK_FUNCTION_LIST_PTR f, kc_kind kind, kc_slot *out, bool *found)
{
	kc_slot *slots = NULL;
	size_t n = 0;
	*found = false;
	CK_RV rv = kc_slots_list(f, true, &slots, &n);
	for (size_t i = 0; rv == CKR_OK && i < n && !*found; i++) {
		if (kind == KC_KIND_OTHER ? slots[i].kind != KC_KIND_OTHER
		                          : slots[i].kind == kind) {
			*out = slots[i];
			*found = true;
		}
	}
	free(slots);
	return rv;
}

static int module_failed(CK_RV rv)
{
	return kc_fail(KC_NO_DEVICE, "the module cannot list its readers (%s)", kz_rv_name(rv));
}

int kc_tap_wait(CK_FUNCTION_LIST_PTR f, kc_kind kind, const kc_deadline *d, kc_slot *out)
{
	kc_slot *all = NULL;
	size_t readers = 0;
	CK_RV rv = kc_slots_list(f, false, &all, &readers);
	free(all);
	if (rv != CKR_OK)
		return module_failed(rv);
	if (readers == 0)
		return kc_fail(KC_NO_DEVICE,
		               "no reader: is a reader plugged in and pcscd running?");
	bool found = false;
	rv = find_present(f, kind, out, &found);
	if (rv != CKR_OK)
		return module_failed(rv);
	if (found)
		return KC_OK;
	kc_note("Waiting for a phone or card on the reader...");
	bool events = true;
	for (unsigned round = 1;; round++) {
		bool look = !events || round % KC_TAP_LOOK_EVERY == 0;
		if (events) {
			CK_SLOT_ID slot;
			rv = f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL);
			if (rv == CKR_FUNCTION_NOT_SUPPORTED) {
				events = false; /* poll from now on */
				look = true;
			} else if (rv == CKR_OK) {
				/* Any event may be ours: whichever slot it
				 * names, look at all of them. */
				look = true;
			} else if (rv != CKR_NO_EVENT) {
				return kc_fail(KC_NO_DEVICE,
				               "the module cannot wait for a tap (%s)",
				               kz_rv_name(rv));
			}
		}
		if (look) {
			rv = find_present(f, kind, out, &found);
			if (rv != CKR_OK)
				return module_failed(rv);
			if (found)
				return KC_OK;
		}
		if (kc_deadline_passed(d))
			return kc_fail(KC_TIMEOUT, "no phone or card was tapped within %g seconds",
			               d->seconds);
		kc_deadline_sleep(d, KC_TAP_POLL_MS);
	}
}
