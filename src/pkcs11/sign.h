/* C_SignInit, C_Sign, C_SignUpdate, C_SignFinal: hash on the host with
 * OpenSSL, wrap in a DigestInfo, and let the card pad and sign. */
#ifndef KZ_PKCS11_SIGN_H
#define KZ_PKCS11_SIGN_H

#include "pkcs11/p11.h"
#include "pkcs11/session.h"

CK_RV kz_sign_init(kz_session *s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key);
CK_RV kz_sign(kz_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV kz_sign_update(kz_session *s, CK_BYTE_PTR data, CK_ULONG len);
CK_RV kz_sign_final(kz_session *s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
void kz_sign_reset(kz_sign_op *op);

#endif
