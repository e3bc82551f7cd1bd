#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "jpki/jpki.h"
#include "pkcs11/mech.h"

/* The card pads PKCS#1 v1.5 itself and takes a DigestInfo; every
 * mechanism reduces to that. No PSS: the application cannot do it. */
static const kz_mech mechanisms[] = {
    {CKM_RSA_PKCS, NULL},
    {CKM_SHA1_RSA_PKCS, "SHA1"},
    {CKM_SHA224_RSA_PKCS, "SHA224"},
    {CKM_SHA256_RSA_PKCS, "SHA256"},
    {CKM_SHA384_RSA_PKCS, "SHA384"},
    {CKM_SHA512_RSA_PKCS, "SHA512"},
};

static const CK_MECHANISM_TYPE mechanism_types[] = {
    CKM_RSA_PKCS,        CKM_SHA1_RSA_PKCS,   CKM_SHA224_RSA_PKCS,
    CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS,
};

_Static_assert(KZ_ARRAY_LEN(mechanisms) == KZ_ARRAY_LEN(mechanism_types),
               "one type per mechanism row");

const kz_mech *kz_mech_find(CK_MECHANISM_TYPE type)
{
	for (size_t i = 0; i < KZ_ARRAY_LEN(mechanisms); i++) {
		if (mechanisms[i].type == type)
			return &mechanisms[i];
	}
	return NULL;
}

const CK_MECHANISM_TYPE *kz_mech_types(CK_ULONG *count)
{
	*count = KZ_ARRAY_LEN(mechanism_types);
	return mechanism_types;
}

CK_RV kz_mech_list(CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
	CK_ULONG n = KZ_ARRAY_LEN(mechanisms);
	if (list != NULL && *count < n) {
		*count = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	for (CK_ULONG i = 0; list != NULL && i < n; i++)
		list[i] = mechanisms[i].type;
	*count = n;
	return CKR_OK;
}

CK_RV kz_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	if (kz_mech_find(type) == NULL)
		return CKR_MECHANISM_INVALID;
	info->ulMinKeySize = JPKI_SIGNATURE_LEN * 8;
	info->ulMaxKeySize = JPKI_SIGNATURE_LEN * 8;
	info->flags = CKF_HW | CKF_SIGN;
	return CKR_OK;
}
