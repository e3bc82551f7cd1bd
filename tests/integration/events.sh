#!/bin/sh
# events-flow.sh against the real pcscd + vpcd, with a pcscd restart.
exec "${srcdir:-.}/tests/integration/events-flow.sh"
