#!/usr/bin/env bash
# Builds the release binary for x86_64 Linux, statically linked against glibc, so that one file
# runs on any x86_64 Linux machine with nothing installed (no libc of a given version, no
# OpenSSL: TLS is rustls, and the trust roots are compiled in).
#
# Prints the file's path, size, SHA-256 and what `file` says about it; fails when the result has
# a dynamic section (a dependency that cannot be linked statically would otherwise slip through).
#
#   scripts/dist.sh            # build, then print
#   DIST_TARGET_DIR=/tmp/t scripts/dist.sh   # build somewhere else than ./target
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-gnu
TARGET_DIR="${DIST_TARGET_DIR:-target}"

# crt-static makes rustc link glibc's static archives; with the gnu target this gives a
# static-pie executable. The explicit --target keeps these flags off build scripts and proc
# macros, which run on the build machine and must stay dynamic.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked --target "$TARGET" --target-dir "$TARGET_DIR" --bin ory-proxy >&2

BIN="$(realpath "$TARGET_DIR/$TARGET/release/ory-proxy")"
SIZE=$(stat -c %s "$BIN")
echo "path:    $BIN"
echo "size:    $SIZE bytes ($(awk -v s="$SIZE" 'BEGIN { printf "%.2f MiB", s / 1048576 }'))"
echo "sha256:  $(sha256sum "$BIN" | cut -d' ' -f1)"
echo "file:    $(file -b "$BIN")"

# A static executable needs no loader: no PT_INTERP program header and no DT_NEEDED library.
# (A static-pie still has a small dynamic section, for relocating itself, which names nothing.)
# `ldd` then says "statically linked" / "not a dynamic executable", `file` says "static(-pie)".
fail() { echo "error: $BIN is not static: $*" >&2; exit 1; }
if readelf -lW "$BIN" | grep -q "INTERP"; then fail "it asks for a program interpreter"; fi
if readelf -dW "$BIN" | grep -q "(NEEDED)"; then fail "it needs shared libraries"; fi
case "$(ldd "$BIN" 2>&1)" in
  *"statically linked"* | *"not a dynamic executable"*) ;;
  *) fail "ldd lists $(ldd "$BIN" 2>&1 | tr '\n' ' ')" ;;
esac
case "$(file -b "$BIN")" in
  *"static-pie linked"* | *"statically linked"*) ;;
  *) fail "file(1) does not call it static" ;;
esac
