/* The functions PKCS#11 3.0 adds (p11-kit 0.24's pkcs11.h declares none). */
#ifndef KZ_PKCS11_ENTRY30_H
#define KZ_PKCS11_ENTRY30_H

#include "pkcs11/p11.h"

CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR out,
                     CK_FLAGS flags);
CK_RV C_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len,
                  CK_UTF8CHAR_PTR username, CK_ULONG username_len);
CK_RV C_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS flags);
CK_RV C_MessageEncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key);
CK_RV C_EncryptMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR aad,
                       CK_ULONG aad_len, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
                       CK_ULONG_PTR out_len);
CK_RV C_EncryptMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                            CK_BYTE_PTR aad, CK_ULONG aad_len);
CK_RV C_EncryptMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                           CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len,
                           CK_FLAGS flags);
CK_RV C_MessageEncryptFinal(CK_SESSION_HANDLE h);
CK_RV C_MessageDecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key);
CK_RV C_DecryptMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR aad,
                       CK_ULONG aad_len, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
                       CK_ULONG_PTR out_len);
CK_RV C_DecryptMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                            CK_BYTE_PTR aad, CK_ULONG aad_len);
CK_RV C_DecryptMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                           CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len,
                           CK_FLAGS flags);
CK_RV C_MessageDecryptFinal(CK_SESSION_HANDLE h);
CK_RV C_MessageSignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key);
CK_RV C_SignMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR data,
                    CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV C_SignMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len);
CK_RV C_SignMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                        CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV C_MessageSignFinal(CK_SESSION_HANDLE h);
CK_RV C_MessageVerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key);
CK_RV C_VerifyMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR data,
                      CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG sig_len);
CK_RV C_VerifyMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len);
CK_RV C_VerifyMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                          CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG sig_len);
CK_RV C_MessageVerifyFinal(CK_SESSION_HANDLE h);

#endif
