#!/bin/sh
exec "${srcdir:-.}/tests/integration/nfc-taps-flow.sh" card
