/* Waiting for a phone or card to be tapped on a reader. */
#ifndef KC_TAP_H
#define KC_TAP_H

#include "tools/deadline.h"
#include "tools/slots.h"

/* Waits until a token for KIND (KC_KIND_OTHER: either key) is present and
 * describes its slot in OUT; returns at once when one already is. Uses
 * C_WaitForSlotEvent without blocking, so that the deadline holds without
 * a thread, and polls C_GetSlotList where the module has no events.
 * Returns an exit code (reported). */
int kc_tap_wait(CK_FUNCTION_LIST_PTR f, kc_kind kind, const kc_deadline *d, kc_slot *out);

#endif
