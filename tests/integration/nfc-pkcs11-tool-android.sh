#!/bin/sh
# pkcs11-tool-flow.sh through libnfc and an emulated PN532, no pcscd; the
# module finds the device through libnfc's own configuration (LIBNFC_DEVICE).
KZ_TRANSPORT=nfc KZ_NFC_CONFIG=libnfc exec "${srcdir:-.}/tests/integration/pkcs11-tool-flow.sh" android
