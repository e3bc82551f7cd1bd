/* The CKR_ name of a return value; no dependency beyond pkcs11.h, so that
 * PKCS#11 clients in this tree (src/tools) can link it too. */
#ifndef KZ_PKCS11_RV_NAME_H
#define KZ_PKCS11_RV_NAME_H

#include "pkcs11/p11.h"

const char *kz_rv_name(CK_RV rv);

#endif
