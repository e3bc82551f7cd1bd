/* C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal. */
#ifndef KZ_PKCS11_FIND_H
#define KZ_PKCS11_FIND_H

#include "pkcs11/p11.h"
#include "pkcs11/session.h"

CK_RV kz_find_init(kz_session *s, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count);
CK_RV kz_find(kz_session *s, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count);
CK_RV kz_find_final(kz_session *s);

#endif
