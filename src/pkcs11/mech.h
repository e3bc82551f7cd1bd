/* The mechanism table: one row per mechanism answers C_GetMechanismList,
 * C_GetMechanismInfo, and how C_Sign turns data into what the card signs. */
#ifndef KZ_PKCS11_MECH_H
#define KZ_PKCS11_MECH_H

#include <openssl/evp.h>

#include "pkcs11/p11.h"

typedef struct kz_mech {
	CK_MECHANISM_TYPE type;
	const char *digest; /* OpenSSL digest name; NULL: the caller gives the DigestInfo */
} kz_mech;

const kz_mech *kz_mech_find(CK_MECHANISM_TYPE type);
CK_RV kz_mech_list(CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);
CK_RV kz_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info);
/* The mechanisms list as CKA_ALLOWED_MECHANISMS wants it. */
const CK_MECHANISM_TYPE *kz_mech_types(CK_ULONG *count);

#endif
