/* The four objects of each token (the CA certificate only with the
 * ca_certificates setting), as a table: what they are, who may see them,
 * and a getter per attribute. Nothing is stored but the handles;
 * values come from the cached certificates of the tap. */
#ifndef KZ_PKCS11_OBJECT_H
#define KZ_PKCS11_OBJECT_H

#include <stdbool.h>

#include "pkcs11/p11.h"
#include "pkcs11/session.h"

typedef enum kz_object_kind {
	KZ_OBJ_PRIVATE_KEY = 1,
	KZ_OBJ_PUBLIC_KEY = 2,
	KZ_OBJ_CERT = 3,
	KZ_OBJ_CA_CERT = 4,
} kz_object_kind;
#define KZ_OBJ_KINDS 4

CK_OBJECT_HANDLE kz_object_handle(CK_SLOT_ID slot, kz_object_kind kind);
/* The kind of an object handle in the session's token, if the session may
 * see it now. CKR_OBJECT_HANDLE_INVALID otherwise. */
CK_RV kz_object_lookup(const kz_session *s, CK_OBJECT_HANDLE h, kz_object_kind *kind);
bool kz_object_visible(const kz_session *s, kz_object_kind kind);

/* C_GetAttributeValue: the two-call pattern; sensitive and unknown
 * attributes marked with CK_UNAVAILABLE_INFORMATION, the others filled. */
CK_RV kz_object_get_attributes(kz_session *s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                               CK_ULONG count);
/* C_GetObjectSize: the size is not a meaningful number for a phone. */
CK_RV kz_object_size(kz_session *s, CK_OBJECT_HANDLE h, CK_ULONG_PTR size);
/* C_CreateObject: nothing can be added to a JPKI token. */
CK_RV kz_object_refuse_create(const kz_session *s, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
                              const CK_OBJECT_HANDLE *out);
/* C_SetAttributeValue, C_CopyObject, C_DestroyObject: the object's
 * attributes forbid each (CKR_ACTION_PROHIBITED), once it is found. */
CK_RV kz_object_refuse_change(const kz_session *s, CK_OBJECT_HANDLE h, const CK_ATTRIBUTE *tmpl,
                              CK_ULONG count);
/* Whether the object has every attribute of tmpl with an equal value. */
CK_RV kz_object_matches(kz_session *s, kz_object_kind kind, const CK_ATTRIBUTE *tmpl,
                        CK_ULONG count, bool *match);

#endif
