/* The PKCS#11 2.40 entry points. Each is one line on top of call.h: count
 * the call in, check initialisation, take the lock, find the session and
 * apply its state rule, forward, log the result. Policy lives elsewhere.
 * The function lists and the three exported symbols are in interface.c,
 * the functions PKCS#11 3.0 adds in entry30.c. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "kazashi/kazashi.h"
#include "pkcs11/call.h"
#include "pkcs11/event.h"
#include "pkcs11/find.h"
#include "pkcs11/login.h"
#include "pkcs11/mech.h"
#include "pkcs11/object.h"
#include "pkcs11/sign.h"
#include "pkcs11/slot.h"

CK_RV C_Initialize(CK_VOID_PTR args)
{
	return kz_rv_trace(__func__, kz_module_initialize(args));
}

CK_RV C_Finalize(CK_VOID_PTR reserved)
{
	if (reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	return kz_rv_trace(__func__, kz_module_finalize());
}

static CK_RV get_info(CK_INFO_PTR info)
{
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	memset(info, 0, sizeof(*info));
	info->cryptokiVersion.major = CRYPTOKI_VERSION_MAJOR;
	info->cryptokiVersion.minor = CRYPTOKI_VERSION_MINOR;
	kz_pad(info->manufacturerID, sizeof(info->manufacturerID), KAZASHI_MANUFACTURER);
	kz_pad(info->libraryDescription, sizeof(info->libraryDescription),
	       KAZASHI_LIBRARY_DESCRIPTION);
	info->libraryVersion.major = 0;
	info->libraryVersion.minor = 1;
	return CKR_OK;
}

CK_RV C_GetInfo(CK_INFO_PTR info)
{
	KZ_MODULE_CALL(get_info(info));
}

CK_RV C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	KZ_MODULE_CALL(kz_slot_list(present, list, count));
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info)
{
	KZ_MODULE_CALL(kz_slot_info(slot, info));
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
	KZ_READER_CALL(kz_slot_find(slot, NULL), kz_slot_token_info(slot, info));
}

static CK_RV mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
	CK_RV rv = kz_slot_token_check(slot);
	return rv != CKR_OK ? rv : kz_mech_list(list, count);
}

CK_RV C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
	KZ_MODULE_CALL(mechanism_list(slot, list, count));
}

static CK_RV mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
	CK_RV rv = kz_slot_token_check(slot);
	return rv != CKR_OK ? rv : kz_mech_info(type, info);
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
	KZ_MODULE_CALL(mechanism_info(slot, type, info));
}

/* The JPKI application is personalised once, by J-LIS: no initialisation. */
static CK_RV init_token(CK_SLOT_ID slot, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR label)
{
	CK_RV rv = kz_slot_token_check(slot);
	if (rv == CKR_OK && (label == NULL || (pin == NULL && len > 0)))
		rv = CKR_ARGUMENTS_BAD;
	return rv != CKR_OK ? rv : CKR_TOKEN_WRITE_PROTECTED;
}

CK_RV C_InitToken(CK_SLOT_ID slot, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR label)
{
	KZ_MODULE_CALL(init_token(slot, pin, len, label));
}

/* The security officer's, and JPKI has none: the state rule refuses. Were
 * there one, resetting the user PIN is still a municipal office's job. */
CK_RV C_InitPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	(void)pin, (void)len;
	KZ_SESSION_CALL(h, KZ_RULE_RW_SO, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV C_SetPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
               CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len)
{
	KZ_SESSION_CALL(h, KZ_RULE_RW, kz_set_pin(s, old_pin, old_len, new_pin, new_len));
}

CK_RV C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                    CK_SESSION_HANDLE_PTR out)
{
	(void)app, (void)notify; /* no callbacks: the module never surrenders */
	KZ_MODULE_CALL(kz_session_open(slot, flags, out));
}

CK_RV C_CloseSession(CK_SESSION_HANDLE h)
{
	KZ_READER_CALL(kz_session_reader(h), kz_session_close(h));
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slot)
{
	KZ_READER_CALL(kz_slot_find(slot, NULL), kz_session_close_slot(slot));
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_session_info(s, info));
}

CK_RV C_GetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR state, CK_ULONG_PTR len)
{
	(void)h, (void)state, (void)len;
	KZ_NOT_SUPPORTED();
}

CK_RV C_SetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR state, CK_ULONG len,
                          CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key)
{
	(void)h, (void)state, (void)len, (void)enc_key, (void)auth_key;
	KZ_NOT_SUPPORTED();
}

CK_RV C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_login(s, user, pin, len));
}

CK_RV C_Logout(CK_SESSION_HANDLE h)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_logout(s));
}

/* Objects: the four of each token are read-only (CKA_MODIFIABLE,
 * CKA_COPYABLE and CKA_DESTROYABLE are FALSE), and none can be added. */
CK_RV C_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                     CK_OBJECT_HANDLE_PTR out)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_object_refuse_create(s, tmpl, count, out));
}

CK_RV C_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                   CK_OBJECT_HANDLE_PTR out)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY,
	                out == NULL ? CKR_ARGUMENTS_BAD
	                            : kz_object_refuse_change(s, obj, tmpl, count));
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj)
{
	KZ_SESSION_CALL(h, KZ_RULE_RW, kz_object_refuse_change(s, obj, NULL, 0));
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ULONG_PTR size)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_object_size(s, obj, size));
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl,
                          CK_ULONG count)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_object_get_attributes(s, obj, tmpl, count));
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl,
                          CK_ULONG count)
{
	KZ_SESSION_CALL(h, KZ_RULE_RW, kz_object_refuse_change(s, obj, tmpl, count));
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_find_init(s, tmpl, count));
}

CK_RV C_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_find(s, out, max, count));
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE h)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_find_final(s));
}

/* Functions the module does not offer, by their shapes. */
#define UNSUPPORTED_INIT(name)                                                                     \
	CK_RV name(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)               \
	{                                                                                          \
		(void)h, (void)mech, (void)key;                                                    \
		KZ_NOT_SUPPORTED();                                                                \
	}
#define UNSUPPORTED_ONE_SHOT(name)                                                                 \
	CK_RV name(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,          \
	           CK_ULONG_PTR out_len)                                                           \
	{                                                                                          \
		(void)h, (void)in, (void)in_len, (void)out, (void)out_len;                         \
		KZ_NOT_SUPPORTED();                                                                \
	}
#define UNSUPPORTED_FINAL(name)                                                                    \
	CK_RV name(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)                     \
	{                                                                                          \
		(void)h, (void)out, (void)out_len;                                                 \
		KZ_NOT_SUPPORTED();                                                                \
	}
#define UNSUPPORTED_UPDATE(name)                                                                   \
	CK_RV name(CK_SESSION_HANDLE h, CK_BYTE_PTR part, CK_ULONG len)                            \
	{                                                                                          \
		(void)h, (void)part, (void)len;                                                    \
		KZ_NOT_SUPPORTED();                                                                \
	}

/* The phone only signs: no encryption, decryption, digest-only, verify
 * (a relying party verifies with the certificate, which it can read). */
UNSUPPORTED_INIT(C_EncryptInit)
UNSUPPORTED_ONE_SHOT(C_Encrypt)
UNSUPPORTED_ONE_SHOT(C_EncryptUpdate)
UNSUPPORTED_FINAL(C_EncryptFinal)
UNSUPPORTED_INIT(C_DecryptInit)
UNSUPPORTED_ONE_SHOT(C_Decrypt)
UNSUPPORTED_ONE_SHOT(C_DecryptUpdate)
UNSUPPORTED_FINAL(C_DecryptFinal)
UNSUPPORTED_ONE_SHOT(C_Digest)
UNSUPPORTED_UPDATE(C_DigestUpdate)
UNSUPPORTED_FINAL(C_DigestFinal)
UNSUPPORTED_INIT(C_SignRecoverInit)
UNSUPPORTED_ONE_SHOT(C_SignRecover)
UNSUPPORTED_INIT(C_VerifyInit)
UNSUPPORTED_UPDATE(C_VerifyUpdate)
UNSUPPORTED_INIT(C_VerifyRecoverInit)
UNSUPPORTED_ONE_SHOT(C_VerifyRecover)
UNSUPPORTED_ONE_SHOT(C_DigestEncryptUpdate)
UNSUPPORTED_ONE_SHOT(C_DecryptDigestUpdate)
UNSUPPORTED_ONE_SHOT(C_SignEncryptUpdate)
UNSUPPORTED_ONE_SHOT(C_DecryptVerifyUpdate)

CK_RV C_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech)
{
	(void)h, (void)mech;
	KZ_NOT_SUPPORTED();
}

CK_RV C_DigestKey(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
	(void)h, (void)key;
	KZ_NOT_SUPPORTED();
}

CK_RV C_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
               CK_ULONG sig_len)
{
	(void)h, (void)data, (void)len, (void)sig, (void)sig_len;
	KZ_NOT_SUPPORTED();
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
	(void)h, (void)sig, (void)sig_len;
	KZ_NOT_SUPPORTED();
}

CK_RV C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_sign_init(s, mech, key));
}

CK_RV C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
             CK_ULONG_PTR sig_len)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_sign(s, data, len, sig, sig_len));
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR part, CK_ULONG len)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_sign_update(s, part, len));
}

CK_RV C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, kz_sign_final(s, sig, sig_len));
}

/* No key is made, wrapped, unwrapped or derived on a JPKI token. */
CK_RV C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR tmpl,
                    CK_ULONG count, CK_OBJECT_HANDLE_PTR key)
{
	(void)h, (void)mech, (void)tmpl, (void)count, (void)key;
	KZ_NOT_SUPPORTED();
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR pub_tmpl,
                        CK_ULONG pub_count, CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG priv_count,
                        CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv)
{
	(void)h, (void)mech, (void)pub_tmpl, (void)pub_count, (void)priv_tmpl, (void)priv_count;
	(void)pub, (void)priv;
	KZ_NOT_SUPPORTED();
}

CK_RV C_WrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE wrapping,
                CK_OBJECT_HANDLE key, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	(void)h, (void)mech, (void)wrapping, (void)key, (void)out, (void)out_len;
	KZ_NOT_SUPPORTED();
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE unwrapping,
                  CK_BYTE_PTR wrapped, CK_ULONG wrapped_len, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                  CK_OBJECT_HANDLE_PTR key)
{
	(void)h, (void)mech, (void)unwrapping, (void)wrapped, (void)wrapped_len, (void)tmpl;
	(void)count, (void)key;
	KZ_NOT_SUPPORTED();
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE base,
                  CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR key)
{
	(void)h, (void)mech, (void)base, (void)tmpl, (void)count, (void)key;
	KZ_NOT_SUPPORTED();
}

/* The JPKI application offers no random numbers we rely on, and the token
 * says so (no CKF_RNG). CKR_RANDOM_NO_RNG is the specification's answer for
 * exactly this, ahead of CKR_RANDOM_SEED_NOT_SUPPORTED; OpenSC's and
 * p11-kit's callers read it as "no generator", not as a failure. */
static CK_RV no_rng(const CK_BYTE *buf, CK_ULONG len)
{
	return buf == NULL && len > 0 ? CKR_ARGUMENTS_BAD : CKR_RANDOM_NO_RNG;
}

CK_RV C_SeedRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR seed, CK_ULONG len)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, no_rng(seed, len));
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG len)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, no_rng(out, len));
}

/* Legacy functions: the specification says what they answer. */
CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE h)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, CKR_FUNCTION_NOT_PARALLEL);
}

CK_RV C_CancelFunction(CK_SESSION_HANDLE h)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, CKR_FUNCTION_NOT_PARALLEL);
}

CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
	if (reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	/* kz_wait_for_slot_event takes and leaves the lock itself: it must
	 * not hold it while it blocks. */
	CK_RV rv = kz_module_call_begin();
	if (rv != CKR_OK)
		return rv;
	rv = kz_wait_for_slot_event(flags, slot);
	kz_module_call_end();
	return kz_rv_trace(__func__, rv);
}
