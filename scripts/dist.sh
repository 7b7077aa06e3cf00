#!/usr/bin/env bash
# Builds the release binary for x86_64 Linux, statically linked against glibc, so that one file
# runs on any x86_64 Linux machine with nothing installed (no libc of a given version, no
# OpenSSL: TLS is rustls, and the trust roots are compiled in).
#
# Prints the file's path, size, SHA-256 and what `file` says about it; fails when the result has
# a dynamic section (a dependency that cannot be linked statically would otherwise slip through)
# or does not start (`--version`).
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
FLAGS="-C target-feature=+crt-static"
# A static-pie relocates itself at start, with glibc's start-up code linked into it from the
# build machine. pack-relative-relocs stores those relocations as DT_RELR (a bitmap, about 1 KB)
# instead of 24-byte RELA entries (about 110 KB), address-space randomisation unchanged. glibc
# reads DT_RELR from 2.36 on; an older build machine gets the plain table.
GLIBC=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
if printf '2.36\n%s\n' "${GLIBC:-0}" | sort -V -C; then
  FLAGS="$FLAGS -C link-arg=-Wl,-z,pack-relative-relocs"
else
  echo "dist: glibc ${GLIBC:-?} on this machine is older than 2.36: relocations not packed" >&2
fi
RUSTFLAGS="${RUSTFLAGS:-} $FLAGS" \
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
# It starts (its self-relocation works): it prints its version.
"$BIN" --version >/dev/null || { echo "error: $BIN --version failed" >&2; exit 1; }
