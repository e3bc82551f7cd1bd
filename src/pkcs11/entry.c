/* The PKCS#11 entry points: the only symbols the module exports. Each is
 * one line: check initialisation, take the lock, find the session and
 * apply its state rule, forward, log the result. Policy lives elsewhere. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "pkcs11/event.h"
#include "pkcs11/find.h"
#include "pkcs11/login.h"
#include "pkcs11/mech.h"
#include "pkcs11/module.h"
#include "pkcs11/object.h"
#include "pkcs11/rv.h"
#include "pkcs11/session.h"
#include "pkcs11/sign.h"
#include "pkcs11/slot.h"
#include "util/log.h"

#define KZ_EXPORT __attribute__((visibility("default")))

static CK_RV traced(const char *fn, CK_RV rv)
{
	if (rv != CKR_OK)
		KZ_DEBUG("%s: %s", fn, kz_rv_name(rv));
	return rv;
}

/* A call that needs the module but no session. */
#define MODULE_CALL(call)                                                                          \
	do {                                                                                       \
		CK_RV rv_ = kz_module_enter();                                                     \
		if (rv_ != CKR_OK)                                                                 \
			return rv_;                                                                \
		rv_ = (call);                                                                      \
		kz_module_leave();                                                                 \
		return traced(__func__, rv_);                                                      \
	} while (0)

/* A call on a session: `s` is the live session inside `call`. */
#define SESSION_CALL(h, rule, call)                                                                \
	do {                                                                                       \
		kz_session *s = NULL;                                                              \
		CK_RV rv_ = kz_module_enter();                                                     \
		if (rv_ != CKR_OK)                                                                 \
			return rv_;                                                                \
		rv_ = kz_session_get((h), (rule), &s);                                             \
		if (rv_ == CKR_OK)                                                                 \
			rv_ = (call);                                                              \
		kz_module_leave();                                                                 \
		return traced(__func__, rv_);                                                      \
	} while (0)

/* A call the token, being write-protected, always refuses. */
#define WRITE_CALL(h) SESSION_CALL(h, KZ_RULE_RW, CKR_TOKEN_WRITE_PROTECTED)

#define NOT_SUPPORTED()                                                                            \
	do {                                                                                       \
		if (!kz_mod.initialized)                                                           \
			return CKR_CRYPTOKI_NOT_INITIALIZED;                                       \
		return CKR_FUNCTION_NOT_SUPPORTED;                                                 \
	} while (0)

static CK_FUNCTION_LIST function_list;

CK_RV C_Initialize(CK_VOID_PTR args)
{
	return traced(__func__, kz_module_initialize(args));
}

CK_RV C_Finalize(CK_VOID_PTR reserved)
{
	if (reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	return traced(__func__, kz_module_finalize());
}

static CK_RV get_info(CK_INFO_PTR info)
{
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	memset(info, 0, sizeof(*info));
	info->cryptokiVersion.major = CRYPTOKI_VERSION_MAJOR;
	info->cryptokiVersion.minor = CRYPTOKI_VERSION_MINOR;
	kz_pad(info->manufacturerID, sizeof(info->manufacturerID), "kazashi");
	kz_pad(info->libraryDescription, sizeof(info->libraryDescription),
	       "kazashi JPKI PKCS#11 module");
	info->libraryVersion.major = 0;
	info->libraryVersion.minor = 1;
	return CKR_OK;
}

CK_RV C_GetInfo(CK_INFO_PTR info)
{
	MODULE_CALL(get_info(info));
}

KZ_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	*list = &function_list;
	return CKR_OK;
}

CK_RV C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	MODULE_CALL(kz_slot_list(present, list, count));
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info)
{
	MODULE_CALL(kz_slot_info(slot, info));
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
	MODULE_CALL(kz_slot_token_info(slot, info));
}

CK_RV C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
	MODULE_CALL(kz_slot_find(slot, NULL) == NULL ? CKR_SLOT_ID_INVALID
						     : kz_mech_list(list, count));
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
	MODULE_CALL(kz_slot_find(slot, NULL) == NULL ? CKR_SLOT_ID_INVALID
						     : kz_mech_info(type, info));
}

CK_RV C_InitToken(CK_SLOT_ID slot, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR label)
{
	(void)pin, (void)len, (void)label;
	MODULE_CALL(kz_slot_find(slot, NULL) == NULL ? CKR_SLOT_ID_INVALID
						     : CKR_TOKEN_WRITE_PROTECTED);
}

CK_RV C_InitPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	(void)pin, (void)len;
	WRITE_CALL(h);
}

CK_RV C_SetPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
	       CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len)
{
	SESSION_CALL(h, KZ_RULE_RW, kz_set_pin(s, old_pin, old_len, new_pin, new_len));
}

CK_RV C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
		    CK_SESSION_HANDLE_PTR out)
{
	(void)app, (void)notify; /* no callbacks: the module never surrenders */
	MODULE_CALL(kz_session_open(slot, flags, out));
}

CK_RV C_CloseSession(CK_SESSION_HANDLE h)
{
	MODULE_CALL(kz_session_close(h));
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slot)
{
	MODULE_CALL(kz_session_close_slot(slot));
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
	SESSION_CALL(h, KZ_RULE_ANY, kz_session_info(s, info));
}

CK_RV C_GetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR state, CK_ULONG_PTR len)
{
	(void)h, (void)state, (void)len;
	NOT_SUPPORTED();
}

CK_RV C_SetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR state, CK_ULONG len,
			  CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key)
{
	(void)h, (void)state, (void)len, (void)enc_key, (void)auth_key;
	NOT_SUPPORTED();
}

CK_RV C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	SESSION_CALL(h, KZ_RULE_ANY, kz_login(s, user, pin, len));
}

CK_RV C_Logout(CK_SESSION_HANDLE h)
{
	SESSION_CALL(h, KZ_RULE_ANY, kz_logout(s));
}

CK_RV C_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
		     CK_OBJECT_HANDLE_PTR out)
{
	(void)tmpl, (void)count, (void)out;
	WRITE_CALL(h);
}

CK_RV C_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl,
		   CK_ULONG count, CK_OBJECT_HANDLE_PTR out)
{
	(void)obj, (void)tmpl, (void)count, (void)out;
	WRITE_CALL(h);
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj)
{
	(void)obj;
	WRITE_CALL(h);
}

static CK_RV object_size(kz_session *s, CK_OBJECT_HANDLE obj, CK_ULONG_PTR size)
{
	kz_object_kind kind;
	CK_RV rv = kz_object_lookup(s, obj, &kind);
	if (rv == CKR_OK && size == NULL)
		rv = CKR_ARGUMENTS_BAD;
	if (rv == CKR_OK)
		*size = CK_UNAVAILABLE_INFORMATION;
	return rv;
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ULONG_PTR size)
{
	SESSION_CALL(h, KZ_RULE_ANY, object_size(s, obj, size));
}

static CK_RV get_attributes(kz_session *s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl,
			    CK_ULONG count)
{
	kz_object_kind kind;
	CK_RV rv = kz_object_lookup(s, obj, &kind);
	return rv != CKR_OK ? rv : kz_object_get_attributes(s, kind, tmpl, count);
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl,
			  CK_ULONG count)
{
	SESSION_CALL(h, KZ_RULE_ANY, get_attributes(s, obj, tmpl, count));
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl,
			  CK_ULONG count)
{
	(void)obj, (void)tmpl, (void)count;
	WRITE_CALL(h);
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	SESSION_CALL(h, KZ_RULE_ANY, kz_find_init(s, tmpl, count));
}

CK_RV C_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
		    CK_ULONG_PTR count)
{
	SESSION_CALL(h, KZ_RULE_ANY, kz_find(s, out, max, count));
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE h)
{
	SESSION_CALL(h, KZ_RULE_ANY, kz_find_final(s));
}

#define UNSUPPORTED_INIT(name)                                                                     \
	CK_RV name(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)               \
	{                                                                                          \
		(void)h, (void)mech, (void)key;                                                    \
		NOT_SUPPORTED();                                                                   \
	}
#define UNSUPPORTED_ONE_SHOT(name)                                                                 \
	CK_RV name(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,          \
		   CK_ULONG_PTR out_len)                                                           \
	{                                                                                          \
		(void)h, (void)in, (void)in_len, (void)out, (void)out_len;                         \
		NOT_SUPPORTED();                                                                   \
	}
#define UNSUPPORTED_FINAL(name)                                                                    \
	CK_RV name(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)                     \
	{                                                                                          \
		(void)h, (void)out, (void)out_len;                                                 \
		NOT_SUPPORTED();                                                                   \
	}

/* The phone only signs: no encryption, decryption, digest-only, verify. */
UNSUPPORTED_INIT(C_EncryptInit)
UNSUPPORTED_ONE_SHOT(C_Encrypt)
UNSUPPORTED_ONE_SHOT(C_EncryptUpdate)
UNSUPPORTED_FINAL(C_EncryptFinal)
UNSUPPORTED_INIT(C_DecryptInit)
UNSUPPORTED_ONE_SHOT(C_Decrypt)
UNSUPPORTED_ONE_SHOT(C_DecryptUpdate)
UNSUPPORTED_FINAL(C_DecryptFinal)
UNSUPPORTED_ONE_SHOT(C_Digest)
UNSUPPORTED_FINAL(C_DigestFinal)
UNSUPPORTED_INIT(C_SignRecoverInit)
UNSUPPORTED_ONE_SHOT(C_SignRecover)
UNSUPPORTED_INIT(C_VerifyRecoverInit)
UNSUPPORTED_ONE_SHOT(C_VerifyRecover)
UNSUPPORTED_ONE_SHOT(C_DigestEncryptUpdate)
UNSUPPORTED_ONE_SHOT(C_DecryptDigestUpdate)
UNSUPPORTED_ONE_SHOT(C_SignEncryptUpdate)
UNSUPPORTED_ONE_SHOT(C_DecryptVerifyUpdate)
UNSUPPORTED_INIT(C_VerifyInit)

CK_RV C_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech)
{
	(void)h, (void)mech;
	NOT_SUPPORTED();
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR part, CK_ULONG len)
{
	(void)h, (void)part, (void)len;
	NOT_SUPPORTED();
}

CK_RV C_DigestKey(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
	(void)h, (void)key;
	NOT_SUPPORTED();
}

CK_RV C_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
	       CK_ULONG sig_len)
{
	(void)h, (void)data, (void)len, (void)sig, (void)sig_len;
	NOT_SUPPORTED();
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR part, CK_ULONG len)
{
	(void)h, (void)part, (void)len;
	NOT_SUPPORTED();
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
	(void)h, (void)sig, (void)sig_len;
	NOT_SUPPORTED();
}

CK_RV C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
	SESSION_CALL(h, KZ_RULE_ANY, kz_sign_init(s, mech, key));
}

CK_RV C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
	     CK_ULONG_PTR sig_len)
{
	SESSION_CALL(h, KZ_RULE_ANY, kz_sign(s, data, len, sig, sig_len));
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR part, CK_ULONG len)
{
	SESSION_CALL(h, KZ_RULE_ANY, kz_sign_update(s, part, len));
}

CK_RV C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	SESSION_CALL(h, KZ_RULE_ANY, kz_sign_final(s, sig, sig_len));
}

CK_RV C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR tmpl,
		    CK_ULONG count, CK_OBJECT_HANDLE_PTR key)
{
	(void)mech, (void)tmpl, (void)count, (void)key;
	WRITE_CALL(h);
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR pub_tmpl,
			CK_ULONG pub_count, CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG priv_count,
			CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv)
{
	(void)mech, (void)pub_tmpl, (void)pub_count, (void)priv_tmpl, (void)priv_count;
	(void)pub, (void)priv;
	WRITE_CALL(h);
}

CK_RV C_WrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE wrapping,
		CK_OBJECT_HANDLE key, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	(void)h, (void)mech, (void)wrapping, (void)key, (void)out, (void)out_len;
	NOT_SUPPORTED();
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE unwrapping,
		  CK_BYTE_PTR wrapped, CK_ULONG wrapped_len, CK_ATTRIBUTE_PTR tmpl,
		  CK_ULONG count, CK_OBJECT_HANDLE_PTR key)
{
	(void)mech, (void)unwrapping, (void)wrapped, (void)wrapped_len, (void)tmpl, (void)count;
	(void)key;
	WRITE_CALL(h);
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE base,
		  CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR key)
{
	(void)mech, (void)base, (void)tmpl, (void)count, (void)key;
	WRITE_CALL(h);
}

CK_RV C_SeedRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR seed, CK_ULONG len)
{
	(void)h, (void)seed, (void)len;
	NOT_SUPPORTED();
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG len)
{
	(void)h, (void)out, (void)len;
	NOT_SUPPORTED(); /* the JPKI application offers no GET CHALLENGE we rely on */
}

CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE h)
{
	(void)h;
	MODULE_CALL(CKR_FUNCTION_NOT_PARALLEL);
}

CK_RV C_CancelFunction(CK_SESSION_HANDLE h)
{
	(void)h;
	MODULE_CALL(CKR_FUNCTION_NOT_PARALLEL);
}

CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
	if (reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	return traced(__func__, kz_wait_for_slot_event(flags, slot));
}

static CK_FUNCTION_LIST function_list = {
	{CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR},
	C_Initialize,
	C_Finalize,
	C_GetInfo,
	C_GetFunctionList,
	C_GetSlotList,
	C_GetSlotInfo,
	C_GetTokenInfo,
	C_GetMechanismList,
	C_GetMechanismInfo,
	C_InitToken,
	C_InitPIN,
	C_SetPIN,
	C_OpenSession,
	C_CloseSession,
	C_CloseAllSessions,
	C_GetSessionInfo,
	C_GetOperationState,
	C_SetOperationState,
	C_Login,
	C_Logout,
	C_CreateObject,
	C_CopyObject,
	C_DestroyObject,
	C_GetObjectSize,
	C_GetAttributeValue,
	C_SetAttributeValue,
	C_FindObjectsInit,
	C_FindObjects,
	C_FindObjectsFinal,
	C_EncryptInit,
	C_Encrypt,
	C_EncryptUpdate,
	C_EncryptFinal,
	C_DecryptInit,
	C_Decrypt,
	C_DecryptUpdate,
	C_DecryptFinal,
	C_DigestInit,
	C_Digest,
	C_DigestUpdate,
	C_DigestKey,
	C_DigestFinal,
	C_SignInit,
	C_Sign,
	C_SignUpdate,
	C_SignFinal,
	C_SignRecoverInit,
	C_SignRecover,
	C_VerifyInit,
	C_Verify,
	C_VerifyUpdate,
	C_VerifyFinal,
	C_VerifyRecoverInit,
	C_VerifyRecover,
	C_DigestEncryptUpdate,
	C_DecryptDigestUpdate,
	C_SignEncryptUpdate,
	C_DecryptVerifyUpdate,
	C_GenerateKey,
	C_GenerateKeyPair,
	C_WrapKey,
	C_UnwrapKey,
	C_DeriveKey,
	C_SeedRandom,
	C_GenerateRandom,
	C_GetFunctionStatus,
	C_CancelFunction,
	C_WaitForSlotEvent,
};
