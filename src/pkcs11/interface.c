/* The module's three exported symbols and the function lists they hand
 * out: C_GetFunctionList (the 2.40 list) and C_GetInterfaceList /
 * C_GetInterface (the "PKCS 11" interface in versions 3.0 and 2.40). They
 * may be called before C_Initialize and take no lock: the lists are
 * constant. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "pkcs11/entry30.h"
#include "pkcs11/p11.h"

#define KZ_EXPORT __attribute__((visibility("default")))

/* The 2.40 functions, shared by both lists in the specification's order. */
#define FUNCTIONS_2_40                                                                             \
	C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList, C_GetSlotList, C_GetSlotInfo,      \
	    C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo, C_InitToken, C_InitPIN,        \
	    C_SetPIN, C_OpenSession, C_CloseSession, C_CloseAllSessions, C_GetSessionInfo,         \
	    C_GetOperationState, C_SetOperationState, C_Login, C_Logout, C_CreateObject,           \
	    C_CopyObject, C_DestroyObject, C_GetObjectSize, C_GetAttributeValue,                   \
	    C_SetAttributeValue, C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal,             \
	    C_EncryptInit, C_Encrypt, C_EncryptUpdate, C_EncryptFinal, C_DecryptInit, C_Decrypt,   \
	    C_DecryptUpdate, C_DecryptFinal, C_DigestInit, C_Digest, C_DigestUpdate, C_DigestKey,  \
	    C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate, C_SignFinal, C_SignRecoverInit,       \
	    C_SignRecover, C_VerifyInit, C_Verify, C_VerifyUpdate, C_VerifyFinal,                  \
	    C_VerifyRecoverInit, C_VerifyRecover, C_DigestEncryptUpdate, C_DecryptDigestUpdate,    \
	    C_SignEncryptUpdate, C_DecryptVerifyUpdate, C_GenerateKey, C_GenerateKeyPair,          \
	    C_WrapKey, C_UnwrapKey, C_DeriveKey, C_SeedRandom, C_GenerateRandom,                   \
	    C_GetFunctionStatus, C_CancelFunction, C_WaitForSlotEvent

static CK_FUNCTION_LIST list_2_40 = {
    {2, 40},
    FUNCTIONS_2_40,
};

static CK_FUNCTION_LIST_3_0 list_3_0 = {
    {3, 0},
    FUNCTIONS_2_40,
    C_GetInterfaceList,
    C_GetInterface,
    C_LoginUser,
    C_SessionCancel,
    C_MessageEncryptInit,
    C_EncryptMessage,
    C_EncryptMessageBegin,
    C_EncryptMessageNext,
    C_MessageEncryptFinal,
    C_MessageDecryptInit,
    C_DecryptMessage,
    C_DecryptMessageBegin,
    C_DecryptMessageNext,
    C_MessageDecryptFinal,
    C_MessageSignInit,
    C_SignMessage,
    C_SignMessageBegin,
    C_SignMessageNext,
    C_MessageSignFinal,
    C_MessageVerifyInit,
    C_VerifyMessage,
    C_VerifyMessageBegin,
    C_VerifyMessageNext,
    C_MessageVerifyFinal,
};

/* The newest first: C_GetInterface with no name gives the first. Not
 * CKF_INTERFACE_FORK_SAFE: a forked child must call C_Initialize again. */
static CK_INTERFACE interfaces[] = {
    {(CK_CHAR *)"PKCS 11", &list_3_0, 0},
    {(CK_CHAR *)"PKCS 11", &list_2_40, 0},
};

KZ_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	*list = &list_2_40;
	return CKR_OK;
}

KZ_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
{
	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
	CK_ULONG n = KZ_ARRAY_LEN(interfaces);
	if (list != NULL && *count < n) {
		*count = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (list != NULL)
		memcpy(list, interfaces, sizeof(interfaces));
	*count = n;
	return CKR_OK;
}

static const CK_VERSION *version_of(const CK_INTERFACE *i)
{
	/* Both lists begin with their version, as every function list does. */
	return (const CK_VERSION *)i->pFunctionList;
}

KZ_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                               CK_INTERFACE_PTR_PTR out, CK_FLAGS flags)
{
	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	for (size_t i = 0; i < KZ_ARRAY_LEN(interfaces); i++) {
		const CK_INTERFACE *it = &interfaces[i];
		const CK_VERSION *v = version_of(it);
		if (name != NULL &&
		    strcmp((const char *)name, (const char *)it->pInterfaceName) != 0)
			continue;
		if (version != NULL && (version->major != v->major || version->minor != v->minor))
			continue;
		if ((it->flags & flags) != flags)
			continue;
		*out = &interfaces[i];
		return CKR_OK;
	}
	/* What OpenSC and p11-kit answer for an interface they do not have. */
	return CKR_ARGUMENTS_BAD;
}
