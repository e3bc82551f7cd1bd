#!/bin/sh
# events-flow.sh through libnfc and an emulated PN532, no pcscd, with the
# reader unplugged and plugged in again.
KZ_TRANSPORT=nfc exec "${srcdir:-.}/tests/integration/events-flow.sh"
