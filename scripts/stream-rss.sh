#!/usr/bin/env bash
# Streams a multi-GiB download and a multi-GiB chunked upload through the release proxy and
# reports throughput and the proxy's peak RSS (VmRSS sampled every 50 ms). Not part of CI.
#
#   scripts/stream-rss.sh [GIB]      (default 4)
#
# Needs curl and python3. Everything runs on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
GIB="${1:-4}"
BYTES=$((GIB * 1024 * 1024 * 1024))

cargo build --release --quiet
BIN=target/release/ory-proxy
WORK="$(mktemp -d)"
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"; }
PIDS=()
trap cleanup EXIT

# Upstream: GET streams BYTES zero bytes with a Content-Length; POST reads a chunked body and
# answers how many bytes it got.
cat >"$WORK/upstream.py" <<'EOF'
import http.server, sys, socketserver
BYTES = int(sys.argv[1])
BLOCK = b"\0" * (1 << 20)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(BYTES))
        self.end_headers()
        left = BYTES
        while left:
            n = min(left, len(BLOCK))
            self.wfile.write(BLOCK[:n])
            left -= n
    def do_POST(self):
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                self.rfile.readline()
                break
            left = size
            while left:
                got = len(self.rfile.read(min(left, 1 << 20)))
                left -= got
                total += got
            self.rfile.readline()
        body = str(total).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$WORK/upstream.py" "$BYTES" >"$WORK/upstream.port" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/upstream.port" ] && break; sleep 0.05; done
UP_PORT="$(head -1 "$WORK/upstream.port")"

"$BIN" "http://127.0.0.1:$UP_PORT" --sdk-url http://127.0.0.1:9 --no-jwt --bind 127.0.0.1 --port 0 \
  2>"$WORK/proxy.log" &
PROXY=$!
PIDS+=($PROXY)
for _ in $(seq 100); do grep -q "listening on" "$WORK/proxy.log" 2>/dev/null && break; sleep 0.05; done
ADDR="$(head -1 "$WORK/proxy.log" | sed 's/.*listening on //')"

sample() { # prints the peak VmRSS (KiB) of $PROXY while the given command runs
  local peak=0 rss
  "$@" &
  local job=$!
  while kill -0 "$job" 2>/dev/null; do
    rss="$(awk '/VmRSS/ {print $2}' "/proc/$PROXY/status")"
    [ "$rss" -gt "$peak" ] && peak="$rss"
    sleep 0.05
  done
  wait "$job"
  echo "$peak"
}

echo "idle proxy RSS: $(awk '/VmRSS/ {print $2}' "/proc/$PROXY/status") KiB"
start=$(date +%s.%N)
peak=$(sample curl -sS -o /dev/null "http://$ADDR/big")
rate() { awk -v b="$BYTES" -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%d", b / 1048576 / (e - s) }'; }
echo "download ${GIB} GiB: $(rate "$start") MiB/s, peak proxy RSS ${peak} KiB"

start=$(date +%s.%N)
peak=$(sample sh -c "head -c $BYTES /dev/zero | curl -sS -o $WORK/upload.out -X POST -T - -H 'Transfer-Encoding: chunked' http://$ADDR/upload")
echo "chunked upload ${GIB} GiB: $(rate "$start") MiB/s, peak proxy RSS ${peak} KiB, upstream got $(cat "$WORK/upload.out") bytes"
