/* What every C_* function does around its work, written once: count the
 * call in (C_Finalize waits for it), check initialisation, take the lock,
 * find the session and apply its state rule, forward, log a failure. The
 * entry points (entry.c, entry30.c) are one line each on top of these. */
#ifndef KZ_PKCS11_CALL_H
#define KZ_PKCS11_CALL_H

#include "pkcs11/module.h"
#include "pkcs11/p11.h"
#include "pkcs11/rv.h"
#include "pkcs11/session.h"

/* A call that needs the module but no session. */
#define KZ_MODULE_CALL(call)                                                                       \
	do {                                                                                       \
		CK_RV rv_ = kz_module_call_begin();                                                \
		if (rv_ != CKR_OK)                                                                 \
			return rv_;                                                                \
		rv_ = kz_module_enter();                                                           \
		if (rv_ == CKR_OK) {                                                               \
			rv_ = (call);                                                              \
			kz_module_leave();                                                         \
		}                                                                                  \
		kz_module_call_end();                                                              \
		return kz_rv_trace(__func__, rv_);                                                 \
	} while (0)

/* A call about one reader's token: `reader` (a kz_reader *, or NULL for
 * none, found under the module lock) is owned by this thread for the whole
 * `call` (module.h, kz_reader_take): the call waits for another call on
 * the same reader, never for one on another reader, and lets go of the
 * module lock during its card exchanges. */
#define KZ_READER_CALL(reader, call)                                                               \
	do {                                                                                       \
		CK_RV rv_ = kz_module_call_begin();                                                \
		if (rv_ != CKR_OK)                                                                 \
			return rv_;                                                                \
		rv_ = kz_module_enter();                                                           \
		if (rv_ == CKR_OK) {                                                               \
			kz_reader *own_ = (reader);                                                \
			if (own_ != NULL)                                                          \
				kz_reader_take(own_);                                              \
			rv_ = (call);                                                              \
			kz_reader_give(own_);                                                      \
			kz_module_leave();                                                         \
		}                                                                                  \
		kz_module_call_end();                                                              \
		return kz_rv_trace(__func__, rv_);                                                 \
	} while (0)

/* A call on a session: `s` is the live session inside `call`, which runs
 * only if the session exists and meets `rule` (a kz_rule). The session's
 * reader is owned throughout (KZ_READER_CALL); the session is looked up
 * once that is so, as it may have been closed meanwhile. */
#define KZ_SESSION_CALL(h, rule, call)                                                             \
	do {                                                                                       \
		kz_session *s = NULL;                                                              \
		CK_RV rv_ = kz_module_call_begin();                                                \
		if (rv_ != CKR_OK)                                                                 \
			return rv_;                                                                \
		rv_ = kz_module_enter();                                                           \
		if (rv_ == CKR_OK) {                                                               \
			kz_reader *own_ = kz_session_reader(h);                                    \
			if (own_ != NULL)                                                          \
				kz_reader_take(own_);                                              \
			rv_ = kz_session_get((h), (rule), &s);                                     \
			if (rv_ == CKR_OK)                                                         \
				rv_ = (call);                                                      \
			kz_reader_give(own_);                                                      \
			kz_module_leave();                                                         \
		}                                                                                  \
		kz_module_call_end();                                                              \
		return kz_rv_trace(__func__, rv_);                                                 \
	} while (0)

/* A function the module does not offer: no lock, no session lookup, but
 * the initialisation check that every function owes its caller. */
#define KZ_NOT_SUPPORTED()                                                                         \
	do {                                                                                       \
		if (!kz_module_initialized())                                                      \
			return CKR_CRYPTOKI_NOT_INITIALIZED;                                       \
		return CKR_FUNCTION_NOT_SUPPORTED;                                                 \
	} while (0)

#endif
