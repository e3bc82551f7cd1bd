#!/bin/sh
# pkcs11-tool-flow.sh through libnfc and an emulated PN532, no pcscd; the
# module is told the device in kazashi.conf (nfc_device).
KZ_TRANSPORT=nfc KZ_NFC_CONFIG=kazashi exec "${srcdir:-.}/tests/integration/pkcs11-tool-flow.sh" card
