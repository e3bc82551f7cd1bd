/* Loading the PKCS#11 module the way any relying party does: dlopen, then
 * C_GetFunctionList and C_Initialize. kazashi links no part of the module,
 * so everything it shows is something the module really offers. */
#ifndef KC_MODULE_H
#define KC_MODULE_H

#include <p11-kit/pkcs11.h>

typedef struct kc_module {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
} kc_module;

/* The module kazashi loads unless told otherwise: --module, else
 * $KAZASHI_MODULE, else the installed one. */
const char *kc_module_default(void);

/* Loads and initialises PATH. Returns an exit code (reported). */
int kc_module_load(kc_module *m, const char *path);

/* Finalises and unloads; safe on a module that failed to load. */
void kc_module_unload(kc_module *m);

#endif
