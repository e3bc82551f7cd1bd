/* The PKCS#11 definitions kazashi builds on: p11-kit's pkcs11.h (2.40),
 * plus the few 3.0 types that header lacks, written from the OASIS
 * specification (PKCS #11 v3.0, section 5.2 and 5.4). */
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
#endif

#define KZ_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
