#!/usr/bin/env bash
# Shows that ory-proxy builds from vendored sources with no network at all, the way an
# air-gapped build would do it (docs/operations.md, "Vendoring"):
#
#   1. copy the project's tracked files into a fresh temporary folder (no ./target, no caches);
#   2. `cargo vendor --locked` every dependency there, and write the source replacement that
#      `cargo vendor` prints into that copy's `.cargo/config.toml`;
#   3. build with `--offline --frozen` inside a network namespace that has no interface but a
#      downed loopback (`unshare -n`, as root; `unshare -rn` through a user namespace otherwise),
#      with CARGO_HOME pointing at an empty folder so no registry cache can stand in for the
#      vendored sources;
#   4. run the built binary's `--version`.
#
# Step 2 needs the registry (or a warm ~/.cargo cache); only step 3 is cut off. Prints the number
# of vendored crates. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ory-proxy-vendor.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
SRC="$WORK/ory-proxy"
mkdir -p "$SRC"

# 1. The sources as a team would import them: the tracked files (or, outside git, the files the
#    build reads).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z | xargs -0 cp --parents -t "$SRC"
else
  cp -r Cargo.toml Cargo.lock src tests examples "$SRC"
fi

# 2. Vendor. `cargo vendor` prints the [source] replacement to put into .cargo/config.toml.
mkdir -p "$SRC/.cargo"
if ! (cd "$SRC" && cargo vendor --locked "$WORK/vendor") >"$SRC/.cargo/config.toml" 2>"$WORK/vendor.log"; then
  cat "$WORK/vendor.log" >&2
  exit 1
fi
grep -q 'replace-with = "vendored-sources"' "$SRC/.cargo/config.toml"
CRATES=$(find "$WORK/vendor" -mindepth 1 -maxdepth 1 -type d | wc -l)
echo "vendored crates: $CRATES" >&2

# 3. Build with the network cut.
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
  NONET=(unshare -n)
  HOW="unshare -n (a network namespace without interfaces, as root)"
elif unshare -rn true 2>/dev/null; then
  NONET=(unshare -rn)
  HOW="unshare -rn (a user and network namespace without interfaces)"
else
  echo "error: cannot cut the network here (unshare -n needs root or user namespaces)" >&2
  exit 1
fi
echo "building offline in $SRC; network cut by $HOW" >&2
mkdir -p "$WORK/cargo-home"
# rustup's cargo shim finds the toolchain through RUSTUP_HOME, not CARGO_HOME.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
(
  cd "$SRC"
  # Prove the cut first: without it this check would be worth nothing.
  if "${NONET[@]}" bash -c 'exec 3<>/dev/tcp/index.crates.io/443' 2>/dev/null; then
    echo "error: the network is still reachable inside ${NONET[*]}" >&2
    exit 1
  fi
  CARGO_HOME="$WORK/cargo-home" "${NONET[@]}" \
    cargo build --offline --frozen --bin ory-proxy --target-dir "$WORK/target"
)

# 4. The binary runs. (A debug build: what is checked is that every source is there, and the dev
#    profile compiles the dependencies in a third of the release profile's time; the release
#    profile reads the same sources.)
"$WORK/target/debug/ory-proxy" --version
echo "vendor check passed: $CRATES crates, built offline ($HOW)" >&2
