/* C_WaitForSlotEvent: taps and departures, reported per slot. */
#ifndef KZ_PKCS11_EVENT_H
#define KZ_PKCS11_EVENT_H

#include "pkcs11/p11.h"

/* Called without the module lock held: it takes it as it needs, and
 * blocks (unless CKF_DONT_BLOCK) in the back ends' own waits, which
 * C_Finalize cancels. */
CK_RV kz_wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID_PTR slot);

#endif
