/* Which reader back ends the module uses: PC/SC, libnfc, or in test builds
 * the in-process simulated phone. */
#ifndef KZ_PKCS11_BACKENDS_H
#define KZ_PKCS11_BACKENDS_H

/* Open the back ends the configuration asks for into kz_mod.backends.
 * One that cannot open is logged and left out: tokens are then absent. */
void kz_backends_open(void);
void kz_backends_close(void);

#endif
