#!/bin/bash
# tests/integration/shared-card.sh with a simulated Android phone.
exec bash "${srcdir:-.}/tests/integration/shared-card.sh" android
