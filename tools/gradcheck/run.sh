#!/bin/sh
# Regenerates packages/artifacts/test/fixtures/gradcheck.json (needs Debian python3-torch).
set -e
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp /tmp/gradcheck-cases.XXXXXX.json)
cd "$ROOT/tools/bench" && node --import tsx --conditions=source "$ROOT/tools/gradcheck/dump.ts" "$TMP"
/usr/bin/python3 "$ROOT/tools/gradcheck/reference.py" "$TMP" "$ROOT/packages/artifacts/test/fixtures/gradcheck.json"
rm -f "$TMP"
