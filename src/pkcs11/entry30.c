/* The functions PKCS#11 3.0 adds, reachable through the "PKCS 11" 3.0
 * interface (interface.c). Of them, a JPKI token has a use for two: a
 * login (JPKI has one user per token, so no user names) and cancelling a
 * session's operations. The message-based functions are AEAD and
 * per-message signing, which the phone cannot do. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "pkcs11/call.h"
#include "pkcs11/entry30.h"
#include "pkcs11/login.h"
#include "pkcs11/sign.h"

/* The user name is not part of a JPKI login: each token has exactly one
 * user. Accepting any name, as for a token "that does not support user
 * names", keeps 3.0 callers working. */
static CK_RV login_user(kz_session *s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len,
                        CK_UTF8CHAR_PTR username, CK_ULONG username_len)
{
	if (username == NULL && username_len > 0)
		return CKR_ARGUMENTS_BAD;
	return kz_login(s, user, pin, len);
}

CK_RV C_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len,
                  CK_UTF8CHAR_PTR username, CK_ULONG username_len)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, login_user(s, user, pin, len, username, username_len));
}

/* The flags name the kinds of operation to end; ending one that is not
 * active is no error. The module has only signing and object finding. */
static CK_RV session_cancel(kz_session *s, CK_FLAGS flags)
{
	if (flags & CKF_SIGN)
		kz_sign_reset(&s->sign);
	if (flags & CKF_FIND_OBJECTS)
		s->find.active = false;
	return CKR_OK;
}

CK_RV C_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS flags)
{
	KZ_SESSION_CALL(h, KZ_RULE_ANY, session_cancel(s, flags));
}

#define UNSUPPORTED_MESSAGE_INIT(name)                                                             \
	CK_RV name(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)               \
	{                                                                                          \
		(void)h, (void)mech, (void)key;                                                    \
		KZ_NOT_SUPPORTED();                                                                \
	}
#define UNSUPPORTED_MESSAGE_FINAL(name)                                                            \
	CK_RV name(CK_SESSION_HANDLE h)                                                            \
	{                                                                                          \
		(void)h;                                                                           \
		KZ_NOT_SUPPORTED();                                                                \
	}
#define UNSUPPORTED_CRYPT_MESSAGE(name)                                                            \
	CK_RV name(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR aad,    \
	           CK_ULONG aad_len, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,             \
	           CK_ULONG_PTR out_len)                                                           \
	{                                                                                          \
		(void)h, (void)param, (void)param_len, (void)aad, (void)aad_len;                   \
		(void)in, (void)in_len, (void)out, (void)out_len;                                  \
		KZ_NOT_SUPPORTED();                                                                \
	}
#define UNSUPPORTED_CRYPT_BEGIN(name)                                                              \
	CK_RV name(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR aad,    \
	           CK_ULONG aad_len)                                                               \
	{                                                                                          \
		(void)h, (void)param, (void)param_len, (void)aad, (void)aad_len;                   \
		KZ_NOT_SUPPORTED();                                                                \
	}
#define UNSUPPORTED_CRYPT_NEXT(name)                                                               \
	CK_RV name(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR in,     \
	           CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len, CK_FLAGS flags)         \
	{                                                                                          \
		(void)h, (void)param, (void)param_len, (void)in, (void)in_len;                     \
		(void)out, (void)out_len, (void)flags;                                             \
		KZ_NOT_SUPPORTED();                                                                \
	}
#define UNSUPPORTED_SIGN_MESSAGE(name)                                                             \
	CK_RV name(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR data,   \
	           CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)                       \
	{                                                                                          \
		(void)h, (void)param, (void)param_len, (void)data, (void)data_len;                 \
		(void)sig, (void)sig_len;                                                          \
		KZ_NOT_SUPPORTED();                                                                \
	}
#define UNSUPPORTED_MESSAGE_BEGIN(name)                                                            \
	CK_RV name(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len)                     \
	{                                                                                          \
		(void)h, (void)param, (void)param_len;                                             \
		KZ_NOT_SUPPORTED();                                                                \
	}
#define UNSUPPORTED_VERIFY_MESSAGE(name)                                                           \
	CK_RV name(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR data,   \
	           CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG sig_len)                           \
	{                                                                                          \
		(void)h, (void)param, (void)param_len, (void)data, (void)data_len;                 \
		(void)sig, (void)sig_len;                                                          \
		KZ_NOT_SUPPORTED();                                                                \
	}

UNSUPPORTED_MESSAGE_INIT(C_MessageEncryptInit)
UNSUPPORTED_CRYPT_MESSAGE(C_EncryptMessage)
UNSUPPORTED_CRYPT_BEGIN(C_EncryptMessageBegin)
UNSUPPORTED_CRYPT_NEXT(C_EncryptMessageNext)
UNSUPPORTED_MESSAGE_FINAL(C_MessageEncryptFinal)
UNSUPPORTED_MESSAGE_INIT(C_MessageDecryptInit)
UNSUPPORTED_CRYPT_MESSAGE(C_DecryptMessage)
UNSUPPORTED_CRYPT_BEGIN(C_DecryptMessageBegin)
UNSUPPORTED_CRYPT_NEXT(C_DecryptMessageNext)
UNSUPPORTED_MESSAGE_FINAL(C_MessageDecryptFinal)
UNSUPPORTED_MESSAGE_INIT(C_MessageSignInit)
UNSUPPORTED_SIGN_MESSAGE(C_SignMessage)
UNSUPPORTED_MESSAGE_BEGIN(C_SignMessageBegin)
UNSUPPORTED_SIGN_MESSAGE(C_SignMessageNext)
UNSUPPORTED_MESSAGE_FINAL(C_MessageSignFinal)
UNSUPPORTED_MESSAGE_INIT(C_MessageVerifyInit)
UNSUPPORTED_VERIFY_MESSAGE(C_VerifyMessage)
UNSUPPORTED_MESSAGE_BEGIN(C_VerifyMessageBegin)
UNSUPPORTED_VERIFY_MESSAGE(C_VerifyMessageNext)
UNSUPPORTED_MESSAGE_FINAL(C_MessageVerifyFinal)
