#!/bin/sh
# taps-flow.sh through libnfc and an emulated PN532, no pcscd.
KZ_TRANSPORT=nfc exec "${srcdir:-.}/tests/integration/taps-flow.sh" card
