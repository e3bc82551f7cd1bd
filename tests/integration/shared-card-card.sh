#!/bin/bash
# tests/integration/shared-card.sh with a simulated My Number card.
exec bash "${srcdir:-.}/tests/integration/shared-card.sh" card
