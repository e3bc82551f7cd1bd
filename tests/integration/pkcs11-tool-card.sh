#!/bin/sh
exec "${srcdir:-.}/tests/integration/pkcs11-tool-flow.sh" card
