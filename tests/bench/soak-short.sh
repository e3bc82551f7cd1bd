#!/bin/sh
# The soak's short version for CI: 300 taps, figures every 100, TAP.
KZ_SOAK_TAPS=300 KZ_SOAK_EVERY=100 KZ_SOAK_TAP=1 exec bash "${srcdir:-.}/tests/bench/soak.sh"
