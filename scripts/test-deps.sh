#!/usr/bin/env bash
# Installs the clients and servers the project did not write, which the integration tests drive
# (tests/util/external.rs): Python websockets, requests, h11, Flask and prometheus_client in a
# virtualenv at target/test-deps/venv, and Node's ws and Express in tests/clients/node_modules. Every version
# is pinned (tests/clients/requirements.txt, tests/clients/package-lock.json). Idempotent: a
# second run with unchanged pins does nothing. Needs python3 (with venv) and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

DEPS=target/test-deps
mkdir -p "$DEPS"

stamp="$DEPS/venv/.pins"
if ! cmp -s tests/clients/requirements.txt "$stamp" 2>/dev/null; then
  rm -rf "$DEPS/venv"
  python3 -m venv "$DEPS/venv"
  "$DEPS/venv/bin/pip" install -q --disable-pip-version-check --no-input \
    -r tests/clients/requirements.txt
  cp tests/clients/requirements.txt "$stamp"
fi

nstamp=tests/clients/node_modules/.pins
if ! cmp -s tests/clients/package-lock.json "$nstamp" 2>/dev/null; then
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp tests/clients/package-lock.json "$nstamp"
fi
echo "test clients: $DEPS/venv/bin/python, tests/clients/node_modules" >&2
