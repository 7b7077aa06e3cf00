#!/usr/bin/env bash
# The layer check (CONTRIBUTING.md, "Layers"): fails on a circle between top-level modules of
# src/ or between its files, or on a file over 400 lines (tests included). The graph is read by the shared tool
# ../shared/tools/module-graph.py (MODULE_GRAPH=path says where it is otherwise); its exit status
# covers only top-level circles, so the other two counts are read from its output.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=${MODULE_GRAPH:-../shared/tools/module-graph.py}
if [ ! -f "$TOOL" ]; then
  echo "error: $TOOL not found (set MODULE_GRAPH to the path of module-graph.py)" >&2
  exit 1
fi
status=0
out=$(python3 "$TOOL" src --files) || status=$?
for line in "circles between top-level modules: 0" "circles between files: 0" \
  "files over 400 lines: 0"; do
  grep -qx "$line" <<<"$out" || status=1
done
# The tool reads src/ only; the integration tests, the examples and the fuzz targets are held to
# the same length.
long=$(find tests examples fuzz -name '*.rs' -not -path '*/node_modules/*' -exec wc -l {} + 2>/dev/null |
  awk '$2 != "total" && $1 > 400 { print "    " $1 " " $2 }')
if [ -n "$long" ]; then
  out+=$'\n'"files over 400 lines outside src/:"$'\n'"$long"
  status=1
fi
if [ "$status" != 0 ]; then
  echo "$out" >&2
  echo "error: an import points up a layer, or a file is over 400 lines (see CONTRIBUTING.md, \"Layers\")" >&2
  exit 1
fi
