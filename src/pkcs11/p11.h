/* The PKCS#11 definitions kazashi builds on: p11-kit's pkcs11.h (2.40),
 * plus the 3.0 types and constants that header lacks, written from the
 * OASIS specification (PKCS #11 v3.0, sections 5.2, 5.4 and 5.6). A newer
 * p11-kit that has them wins: everything below is guarded. */
#ifndef KZ_PKCS11_P11_H
#define KZ_PKCS11_P11_H

#include <p11-kit/pkcs11.h>

#ifndef CKF_INTERFACE_FORK_SAFE
typedef struct CK_INTERFACE {
	CK_CHAR *pInterfaceName;
	CK_VOID_PTR pFunctionList;
	CK_FLAGS flags;
} CK_INTERFACE;
typedef CK_INTERFACE *CK_INTERFACE_PTR;
typedef CK_INTERFACE_PTR *CK_INTERFACE_PTR_PTR;
#define CKF_INTERFACE_FORK_SAFE 0x00000001UL

/* The functions 3.0 adds, by their prototypes in the specification. */
typedef CK_RV (*CK_C_GetInterfaceList)(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
typedef CK_RV (*CK_C_GetInterface)(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                                   CK_INTERFACE_PTR_PTR interface, CK_FLAGS flags);
typedef CK_RV (*CK_C_LoginUser)(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
                                CK_ULONG pin_len, CK_UTF8CHAR_PTR username, CK_ULONG username_len);
typedef CK_RV (*CK_C_SessionCancel)(CK_SESSION_HANDLE h, CK_FLAGS flags);
/* C_MessageEncryptInit, C_MessageDecryptInit, C_MessageSignInit,
 * C_MessageVerifyInit. */
typedef CK_RV (*CK_C_MessageInit)(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key);
/* C_EncryptMessage and C_DecryptMessage. */
typedef CK_RV (*CK_C_CryptMessage)(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                                   CK_BYTE_PTR aad, CK_ULONG aad_len, CK_BYTE_PTR in,
                                   CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
/* C_EncryptMessageBegin and C_DecryptMessageBegin. */
typedef CK_RV (*CK_C_CryptMessageBegin)(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                                        CK_BYTE_PTR aad, CK_ULONG aad_len);
/* C_EncryptMessageNext and C_DecryptMessageNext. */
typedef CK_RV (*CK_C_CryptMessageNext)(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                                       CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
                                       CK_ULONG_PTR out_len, CK_FLAGS flags);
/* C_MessageEncryptFinal, C_MessageDecryptFinal, C_MessageSignFinal,
 * C_MessageVerifyFinal. */
typedef CK_RV (*CK_C_MessageFinal)(CK_SESSION_HANDLE h);
/* C_SignMessage and C_SignMessageNext. */
typedef CK_RV (*CK_C_SignMessage)(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                                  CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig,
                                  CK_ULONG_PTR sig_len);
/* C_SignMessageBegin and C_VerifyMessageBegin. */
typedef CK_RV (*CK_C_MessageBegin)(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len);
/* C_VerifyMessage and C_VerifyMessageNext. */
typedef CK_RV (*CK_C_VerifyMessage)(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                                    CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig,
                                    CK_ULONG sig_len);

/* The 3.0 function list: the 2.40 list in the same order, then the new
 * functions in the order the specification lists them. */
typedef struct CK_FUNCTION_LIST_3_0 {
	CK_VERSION version;
	CK_C_Initialize C_Initialize;
	CK_C_Finalize C_Finalize;
	CK_C_GetInfo C_GetInfo;
	CK_C_GetFunctionList C_GetFunctionList;
	CK_C_GetSlotList C_GetSlotList;
	CK_C_GetSlotInfo C_GetSlotInfo;
	CK_C_GetTokenInfo C_GetTokenInfo;
	CK_C_GetMechanismList C_GetMechanismList;
	CK_C_GetMechanismInfo C_GetMechanismInfo;
	CK_C_InitToken C_InitToken;
	CK_C_InitPIN C_InitPIN;
	CK_C_SetPIN C_SetPIN;
	CK_C_OpenSession C_OpenSession;
	CK_C_CloseSession C_CloseSession;
	CK_C_CloseAllSessions C_CloseAllSessions;
	CK_C_GetSessionInfo C_GetSessionInfo;
	CK_C_GetOperationState C_GetOperationState;
	CK_C_SetOperationState C_SetOperationState;
	CK_C_Login C_Login;
	CK_C_Logout C_Logout;
	CK_C_CreateObject C_CreateObject;
	CK_C_CopyObject C_CopyObject;
	CK_C_DestroyObject C_DestroyObject;
	CK_C_GetObjectSize C_GetObjectSize;
	CK_C_GetAttributeValue C_GetAttributeValue;
	CK_C_SetAttributeValue C_SetAttributeValue;
	CK_C_FindObjectsInit C_FindObjectsInit;
	CK_C_FindObjects C_FindObjects;
	CK_C_FindObjectsFinal C_FindObjectsFinal;
	CK_C_EncryptInit C_EncryptInit;
	CK_C_Encrypt C_Encrypt;
	CK_C_EncryptUpdate C_EncryptUpdate;
	CK_C_EncryptFinal C_EncryptFinal;
	CK_C_DecryptInit C_DecryptInit;
	CK_C_Decrypt C_Decrypt;
	CK_C_DecryptUpdate C_DecryptUpdate;
	CK_C_DecryptFinal C_DecryptFinal;
	CK_C_DigestInit C_DigestInit;
	CK_C_Digest C_Digest;
	CK_C_DigestUpdate C_DigestUpdate;
	CK_C_DigestKey C_DigestKey;
	CK_C_DigestFinal C_DigestFinal;
	CK_C_SignInit C_SignInit;
	CK_C_Sign C_Sign;
	CK_C_SignUpdate C_SignUpdate;
	CK_C_SignFinal C_SignFinal;
	CK_C_SignRecoverInit C_SignRecoverInit;
	CK_C_SignRecover C_SignRecover;
	CK_C_VerifyInit C_VerifyInit;
	CK_C_Verify C_Verify;
	CK_C_VerifyUpdate C_VerifyUpdate;
	CK_C_VerifyFinal C_VerifyFinal;
	CK_C_VerifyRecoverInit C_VerifyRecoverInit;
	CK_C_VerifyRecover C_VerifyRecover;
	CK_C_DigestEncryptUpdate C_DigestEncryptUpdate;
	CK_C_DecryptDigestUpdate C_DecryptDigestUpdate;
	CK_C_SignEncryptUpdate C_SignEncryptUpdate;
	CK_C_DecryptVerifyUpdate C_DecryptVerifyUpdate;
	CK_C_GenerateKey C_GenerateKey;
	CK_C_GenerateKeyPair C_GenerateKeyPair;
	CK_C_WrapKey C_WrapKey;
	CK_C_UnwrapKey C_UnwrapKey;
	CK_C_DeriveKey C_DeriveKey;
	CK_C_SeedRandom C_SeedRandom;
	CK_C_GenerateRandom C_GenerateRandom;
	CK_C_GetFunctionStatus C_GetFunctionStatus;
	CK_C_CancelFunction C_CancelFunction;
	CK_C_WaitForSlotEvent C_WaitForSlotEvent;
	CK_C_GetInterfaceList C_GetInterfaceList;
	CK_C_GetInterface C_GetInterface;
	CK_C_LoginUser C_LoginUser;
	CK_C_SessionCancel C_SessionCancel;
	CK_C_MessageInit C_MessageEncryptInit;
	CK_C_CryptMessage C_EncryptMessage;
	CK_C_CryptMessageBegin C_EncryptMessageBegin;
	CK_C_CryptMessageNext C_EncryptMessageNext;
	CK_C_MessageFinal C_MessageEncryptFinal;
	CK_C_MessageInit C_MessageDecryptInit;
	CK_C_CryptMessage C_DecryptMessage;
	CK_C_CryptMessageBegin C_DecryptMessageBegin;
	CK_C_CryptMessageNext C_DecryptMessageNext;
	CK_C_MessageFinal C_MessageDecryptFinal;
	CK_C_MessageInit C_MessageSignInit;
	CK_C_SignMessage C_SignMessage;
	CK_C_MessageBegin C_SignMessageBegin;
	CK_C_SignMessage C_SignMessageNext;
	CK_C_MessageFinal C_MessageSignFinal;
	CK_C_MessageInit C_MessageVerifyInit;
	CK_C_VerifyMessage C_VerifyMessage;
	CK_C_MessageBegin C_VerifyMessageBegin;
	CK_C_VerifyMessage C_VerifyMessageNext;
	CK_C_MessageFinal C_MessageVerifyFinal;
} CK_FUNCTION_LIST_3_0;
typedef CK_FUNCTION_LIST_3_0 *CK_FUNCTION_LIST_3_0_PTR;
#endif

/* C_SessionCancel's flags (3.0): the 2.40 mechanism flags, plus these. */
#ifndef CKF_MESSAGE_ENCRYPT
#define CKF_MESSAGE_ENCRYPT 0x00000002UL
#define CKF_MESSAGE_DECRYPT 0x00000004UL
#define CKF_MESSAGE_SIGN    0x00000008UL
#define CKF_MESSAGE_VERIFY  0x00000010UL
#endif
#ifndef CKF_FIND_OBJECTS
#define CKF_FIND_OBJECTS 0x00000040UL
#endif
#ifndef CKR_OPERATION_CANCEL_FAILED
#define CKR_OPERATION_CANCEL_FAILED 0x00000202UL
#endif

#define KZ_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
