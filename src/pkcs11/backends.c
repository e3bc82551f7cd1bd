#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "pkcs11/backends.h"
#include "pkcs11/module.h"
#include "util/log.h"

static void open_backend(const kz_backend_ops *ops, const char *options)
{
	kz_backend *b = NULL;
	if (kz_mod.backend_count == KZ_ARRAY_LEN(kz_mod.backends))
		return;
	kz_err e = ops->open(options, &b);
	if (e == KZ_OK)
		kz_mod.backends[kz_mod.backend_count++] = b;
	else
		KZ_WARN("%s unavailable: %s", ops->name, kz_err_str(e));
}

void kz_backends_open(void)
{
	if (kz_test_backend != NULL) {
		open_backend(kz_test_backend, NULL);
		return;
	}
	/* Both by default, side by side: a kiosk may have a PC/SC reader, a
	 * bare PN532, or both. Each opens quietly with nothing behind it. */
	if (kz_mod.config.pcsc)
		open_backend(&kz_pcsc_backend, NULL);
#ifdef HAVE_LIBNFC
	if (kz_mod.config.nfc)
		open_backend(&kz_nfc_backend, kz_mod.config.nfc_device);
#else
	if (kz_mod.config.nfc && kz_mod.config.nfc_device[0] != '\0')
		KZ_WARN("nfc_device is set, but this build has no libnfc support");
#endif
}

void kz_backends_close(void)
{
	for (size_t i = 0; i < kz_mod.backend_count; i++)
		kz_mod.backends[i]->ops->close(kz_mod.backends[i]);
	kz_mod.backend_count = 0;
}
