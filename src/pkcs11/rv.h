/* Internal results to PKCS#11 return values, in one place. */
#ifndef KZ_PKCS11_RV_H
#define KZ_PKCS11_RV_H

#include "pkcs11/p11.h"
#include "pkcs11/rv-name.h"
#include "util/err.h"

CK_RV kz_rv(kz_err e);
/* Log a failed call of the C_* function fn at debug level; returns rv. */
CK_RV kz_rv_trace(const char *fn, CK_RV rv);

#endif
