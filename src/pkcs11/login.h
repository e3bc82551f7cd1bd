/* C_Login, C_Logout, C_SetPIN: PIN form checks before anything is sent,
 * retry counters kept, a VERIFY never repeated on its own. */
#ifndef KZ_PKCS11_LOGIN_H
#define KZ_PKCS11_LOGIN_H

#include "pkcs11/p11.h"
#include "pkcs11/session.h"

CK_RV kz_login(kz_session *s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len);
CK_RV kz_logout(kz_session *s);
CK_RV kz_set_pin(kz_session *s, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len, CK_UTF8CHAR_PTR new_pin,
                 CK_ULONG new_len);

#endif
