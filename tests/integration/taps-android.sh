#!/bin/sh
exec "${srcdir:-.}/tests/integration/taps-flow.sh" android
