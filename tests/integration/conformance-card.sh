#!/bin/sh
exec "${srcdir:-.}/tests/integration/conformance-flow.sh" card
