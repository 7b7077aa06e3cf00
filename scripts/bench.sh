#!/usr/bin/env bash
# Benchmark: ory-proxy against nginx doing the same jobs, side by side, in one run.
#
# One nginx instance (loopback ports only) plays five parts:
#   upstream   the application: a small static answer;
#   whoami     a fake Ory: 200 with a Kratos-shaped session when the ory_kratos_session cookie
#              is present, else 401 (its access log counts the whoami calls);
#   auth_req   nginx as an auth_request proxy (one whoami subrequest per request) → upstream;
#   plain      nginx as a plain reverse proxy → upstream;
#   ssl        the same plain reverse proxy serving HTTPS (`listen … ssl`) → upstream.
# Three ory-proxy processes (release build) sit in front of the same upstream and whoami: one with
# default settings (session cache on), one with --session-cache-ttl 0, and one with default
# settings serving HTTPS (--tls-cert/--tls-key). nginx ssl and that ory-proxy serve the same
# certificate: EC P-256, self-signed, made with openssl in the run's temporary directory. wrk
# speaks https to both (it does not verify the certificate) and keeps its connections alive, so
# the TLS rows measure mostly record encryption, with one handshake per wrk connection.
#
# wrk (-t2 -c64 by default) then runs every scenario in turn, ROUNDS times (A B C … A B C …), and
# the script prints a table (the median of the rounds, robust against a neighbour's burst on a
# shared machine), issue 9's targets (met or not), the TLS rows' ratios (issue 18; no target),
# the TLS version and cipher each HTTPS server negotiates, the proxy's RSS, whoami calls per 1000
# signed-in requests, the proxy's context switches per request and wrk's error counts. It never
# fails on a number: it is a benchmark, not a test. It exits non-zero only when it cannot run
# (tools missing, ports taken).
#
# Context switches are summed over every thread of the ory-proxy process (voluntary and
# nonvoluntary, from /proc/PID/task/TID/status; /proc/PID/status counts the main thread only),
# sampled every 0.2 s during a run so that connection threads that end with the run are counted
# too (what a thread does in the last 0.2 s of its life is missed: a slight undercount).
#
# Usage: scripts/bench.sh            (from anywhere inside a clone)
# Needs: wrk, openssl, nginx with the auth_request and ssl modules, cargo.
# Knobs (environment): DURATION=8s ROUNDS=3 WARMUP=2s (0: none) CONNECTIONS=64 THREADS=2
#                      PORT_BASE=18400 (the first of 8 consecutive loopback ports)
#                      NO_BUILD=1 (use the existing target/release/ory-proxy)
#                      BIN=path (measure that binary instead, e.g. a copy of an older build for a
#                      before/after; implies NO_BUILD)
#                      PROXY_ARGS="..." (extra flags for every ory-proxy process)
#                      SETUP_ONLY=1 (start everything, print the ports, wait for Ctrl-C: for
#                      profiling with perf/valgrind against the same setup)
set -euo pipefail

DURATION=${DURATION:-8s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PORT_BASE=${PORT_BASE:-18400}
PROXY_ARGS=${PROXY_ARGS:-}

cd "$(dirname "$0")/.."
ROOT=$(pwd)

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v openssl >/dev/null || missing+=(openssl)
NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
[ -z "$NGINX" ] && missing+=(nginx)
command -v cargo >/dev/null || missing+=(cargo)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench: missing ${missing[*]}; on Debian/Ubuntu: sudo apt-get install nginx-light wrk openssl" >&2
  echo "       (cargo comes from https://rustup.rs)" >&2
  exit 1
fi
for module in http_auth_request_module http_ssl_module; do
  if ! "$NGINX" -V 2>&1 | grep -q "$module"; then
    echo "bench: this nginx lacks $module; install nginx-light or nginx" >&2
    exit 1
  fi
done

P_UP=$PORT_BASE
P_WHOAMI=$((PORT_BASE + 1))
P_AUTHREQ=$((PORT_BASE + 2))
P_PLAIN=$((PORT_BASE + 3))
P_CACHED=$((PORT_BASE + 4))
P_NOCACHE=$((PORT_BASE + 5))
P_SSL=$((PORT_BASE + 6))
P_TLS=$((PORT_BASE + 7))
PORTS=("$P_UP" "$P_WHOAMI" "$P_AUTHREQ" "$P_PLAIN" "$P_CACHED" "$P_NOCACHE" "$P_SSL" "$P_TLS")
for p in "${PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "bench: port $p is in use; set PORT_BASE to a free range of ${#PORTS[@]} ports" >&2
    exit 1
  fi
done

if [ -z "${NO_BUILD:-}" ] && [ -z "${BIN:-}" ]; then
  echo "building ory-proxy (release)…" >&2
  cargo build --release --quiet
fi
BIN=${BIN:-"$ROOT/target/release/ory-proxy"}
[ -x "$BIN" ] || { echo "bench: $BIN not found (build it, or unset NO_BUILD)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ory-proxy-bench.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -f "$WORK/nginx.pid" ]; then kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; fi
  sleep 0.3
  rm -rf "$WORK"
}
trap cleanup EXIT

# A Kratos-shaped session (about 1.3 KB, like a real one with one email identity).
SESSION='{"id":"8f4a6b0e-2f7e-4b38-9c2a-3d5e1c7b9a01","active":true,"expires_at":"2099-01-01T00:00:00.000000Z","authenticated_at":"2026-11-26T10:00:00.000000Z","authenticator_assurance_level":"aal1","authentication_methods":[{"method":"password","aal":"aal1","completed_at":"2026-11-26T10:00:00.000000Z"}],"issued_at":"2026-11-26T10:00:00.000000Z","identity":{"id":"3c1b7a52-9d4e-4f0a-8b6c-2e9f1d3a5b77","schema_id":"default","schema_url":"http://127.0.0.1:'$P_WHOAMI'/schemas/ZGVmYXVsdA","state":"active","state_changed_at":"2026-11-01T09:00:00.000000Z","traits":{"email":"ada@example.org","name":{"first":"Ada","last":"Lovelace"}},"verifiable_addresses":[{"id":"5e2a9c1d-7b3f-4e8a-9d6c-1f0b2a3c4d5e","value":"ada@example.org","verified":true,"via":"email","status":"completed","verified_at":"2026-11-01T09:05:00.000000Z","created_at":"2026-11-01T09:00:00.000000Z","updated_at":"2026-11-01T09:05:00.000000Z"}],"recovery_addresses":[{"id":"6f3b0d2e-8c4a-4f9b-ae7d-2a1c3b4d5e6f","value":"ada@example.org","via":"email","created_at":"2026-11-01T09:00:00.000000Z","updated_at":"2026-11-01T09:00:00.000000Z"}],"metadata_public":null,"created_at":"2026-11-01T09:00:00.000000Z","updated_at":"2026-11-01T09:05:00.000000Z"},"devices":[{"id":"7a4c1e3f-9d5b-4a0c-bf8e-3b2d4c5e6f70","ip_address":"127.0.0.1","user_agent":"wrk","location":""}]}'
UNAUTHORIZED='{"error":{"code":401,"status":"Unauthorized","reason":"No valid session credentials found in the request.","message":"The request could not be authorized"}}'
COOKIE="ory_kratos_session=MTc2NDE1MjAwMHxEdi1CQkFFQ180SUFBUkFCRUFBQVJfLUNBQUVHYzNSeWFXNW5EQThBRFhObGMzTnBiMjVmZEc5clpXNEdjM1J5YVc1bkRDSUFJRzlQYlVvM2VVczFlVzFhTjBSak5XTkVSbVYwZDBwc1ptVmhTVTFhYlZoYXyS"

# The certificate nginx ssl and the HTTPS ory-proxy both serve: EC P-256, self-signed, PKCS#8 key.
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>"$WORK/openssl.log"; then
  echo "bench: openssl could not make the certificate:" >&2
  cat "$WORK/openssl.log" >&2
  exit 1
fi

mkdir -p "$WORK/tmp"
cat >"$WORK/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
daemon on;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  log_format calls '\$msec \$status';

  upstream app { server 127.0.0.1:$P_UP; keepalive 128; }
  upstream ory { server 127.0.0.1:$P_WHOAMI; keepalive 128; }

  server {
    listen 127.0.0.1:$P_UP;
    location / { default_type text/plain; return 200 "hello from the upstream application\n"; }
  }
  server {
    listen 127.0.0.1:$P_WHOAMI;
    access_log $WORK/whoami.log calls;
    location = /sessions/whoami {
      default_type application/json;
      if (\$cookie_ory_kratos_session = "") { return 401 '$UNAUTHORIZED'; }
      return 200 '$SESSION';
    }
    location / { return 404; }
  }
  server {
    listen 127.0.0.1:$P_AUTHREQ;
    location / {
      auth_request /_whoami;
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location = /_whoami {
      internal;
      proxy_pass http://ory/sessions/whoami;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    listen 127.0.0.1:$P_PLAIN;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    listen 127.0.0.1:$P_SSL ssl;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
"$NGINX" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" 2>"$WORK/nginx-start.log" || {
  cat "$WORK/nginx-start.log" >&2
  exit 1
}

start_proxy() { # port, extra flags… (sets STARTED to the pid)
  local port=$1
  shift
  # shellcheck disable=SC2086
  "$BIN" "http://127.0.0.1:$P_UP" --sdk-url "http://127.0.0.1:$P_WHOAMI" --bind 127.0.0.1 \
    --port "$port" -q "$@" $PROXY_ARGS </dev/null >/dev/null 2>"$WORK/proxy-$port.log" &
  STARTED=$!
  PIDS+=("$STARTED")
}
start_proxy "$P_CACHED"
PID_CACHED=$STARTED
start_proxy "$P_NOCACHE" --session-cache-ttl 0
PID_NOCACHE=$STARTED
start_proxy "$P_TLS" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
PID_TLS=$STARTED

wait_up() { # port
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "bench: nothing listens on port $1" >&2
  cat "$WORK"/proxy-*.log "$WORK/nginx-error.log" >&2 2>/dev/null || true
  exit 1
}
for p in "${PORTS[@]}"; do wait_up "$p"; done

if [ -n "${SETUP_ONLY:-}" ]; then
  echo "upstream :$P_UP  whoami :$P_WHOAMI  nginx auth_request :$P_AUTHREQ  nginx plain :$P_PLAIN"
  echo "nginx ssl (https) :$P_SSL"
  echo "ory-proxy (cache on) :$P_CACHED pid $PID_CACHED  ory-proxy (cache off) :$P_NOCACHE pid $PID_NOCACHE"
  echo "ory-proxy (https, cache on) :$P_TLS pid $PID_TLS"
  echo "the HTTPS certificate: $WORK/cert.pem (curl --cacert it, or -k)"
  echo "signed-in requests send: Cookie: $COOKIE"
  echo "Ctrl-C (or kill $$) stops everything"
  trap "exit 0" INT TERM
  while :; do sleep 3600 & wait $!; done
fi

rss_kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null || echo "?"; }
sleep 0.5
IDLE_RSS_CACHED=$(rss_kib "$PID_CACHED" VmRSS)
IDLE_RSS_NOCACHE=$(rss_kib "$PID_NOCACHE" VmRSS)
IDLE_RSS_TLS=$(rss_kib "$PID_TLS" VmRSS)

cat >"$WORK/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
EOF

# name | url | signed-in? | ory-proxy pid (for context switches) or -
# (The summary below names rows by their index here: add new ones at the end.)
SCENARIOS=(
  "direct upstream (reference)|http://127.0.0.1:$P_UP/|no|-"
  "nginx plain proxy, anonymous|http://127.0.0.1:$P_PLAIN/|no|-"
  "nginx auth_request, signed-in|http://127.0.0.1:$P_AUTHREQ/|yes|-"
  "ory-proxy, signed-in (cache on, default)|http://127.0.0.1:$P_CACHED/|yes|$PID_CACHED"
  "ory-proxy, signed-in, --session-cache-ttl 0|http://127.0.0.1:$P_NOCACHE/|yes|$PID_NOCACHE"
  "ory-proxy, anonymous|http://127.0.0.1:$P_CACHED/|no|$PID_CACHED"
  "nginx ssl proxy, anonymous, TLS|https://127.0.0.1:$P_SSL/|no|-"
  "ory-proxy, anonymous, TLS|https://127.0.0.1:$P_TLS/|no|$PID_TLS"
  "ory-proxy, signed-in (cache on), TLS|https://127.0.0.1:$P_TLS/|yes|$PID_TLS"
)

# Context switches of every thread of a process, one "tid switches" line each.
ctxt_snapshot() { # pid
  awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n[FILENAME] += $2 }
    END { for (f in n) { split(f, p, "/"); print p[5], n[f] } }' /proc/"$1"/task/*/status 2>/dev/null || true
}
ctxt_sampler() { # pid file: appends a snapshot every 0.2 s until killed
  while :; do
    ctxt_snapshot "$1" >>"$2"
    sleep 0.2
  done
}
# Switches since the baseline: per thread, the last (largest) value seen minus its baseline
# value (0 for a thread born during the run).
ctxt_delta() { # baseline-file samples-file
  awk 'FNR == NR { base[$1] = $2; next }
    NF == 2 && $2 > last[$1] { last[$1] = $2 }
    END { s = 0; for (t in last) if (last[t] > base[t]) s += last[t] - base[t]; print s }' "$1" "$2"
}

whoami_lines() { if [ -f "$WORK/whoami.log" ]; then wc -l <"$WORK/whoami.log"; else echo 0; fi; }

run_wrk() { # url signed-in duration → "RESULT …" line
  local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$3" -s "$WORK/report.lua")
  if [ "$2" = yes ]; then args+=(-H "Cookie: $COOKIE"); fi
  wrk "${args[@]}" "$1" | grep '^RESULT'
}

if [ "$WARMUP" != 0 ]; then
  echo "warming up…" >&2
  for s in "${SCENARIOS[@]}"; do
    IFS='|' read -r _ url signed _ <<<"$s"
    run_wrk "$url" "$signed" "$WARMUP" >/dev/null
  done
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A REQS RPS P50 P99 ERRS ERRKINDS WHOAMI CTXT
for i in "${!SCENARIOS[@]}"; do
  REQS[$i]=0; RPS[$i]=""; P50[$i]=""; P99[$i]=""; ERRS[$i]=0; ERRKINDS[$i]=""; WHOAMI[$i]=0
  CTXT[$i]=0
done
for round in $(seq "$ROUNDS"); do
  for i in "${!SCENARIOS[@]}"; do
    IFS='|' read -r name url signed pid <<<"${SCENARIOS[$i]}"
    echo "round $round/$ROUNDS: $name" >&2
    before=$(whoami_lines)
    if [ "$pid" != - ]; then
      ctxt_snapshot "$pid" >"$WORK/ctxt-base"
      : >"$WORK/ctxt-samples"
      ctxt_sampler "$pid" "$WORK/ctxt-samples" &
      SAMPLER=$!
    fi
    read -r _ n us p50 p99 ec er ew es et <<<"$(run_wrk "$url" "$signed" "$DURATION")"
    if [ "$pid" != - ]; then
      kill "$SAMPLER" 2>/dev/null || true
      wait "$SAMPLER" 2>/dev/null || true
      ctxt_snapshot "$pid" >>"$WORK/ctxt-samples"
      CTXT[$i]=$((CTXT[$i] + $(ctxt_delta "$WORK/ctxt-base" "$WORK/ctxt-samples")))
    fi
    after=$(whoami_lines)
    REQS[$i]=$((REQS[$i] + n))
    RPS[$i]="${RPS[$i]} $(awk -v n="$n" -v us="$us" 'BEGIN { printf "%.0f", n / (us / 1e6) }')"
    P50[$i]="${P50[$i]} $p50"
    P99[$i]="${P99[$i]} $p99"
    ERRS[$i]=$((ERRS[$i] + ec + er + ew + es + et))
    if [ $((ec + er + ew + es + et)) -gt 0 ]; then
      ERRKINDS[$i]="${ERRKINDS[$i]} r$round:connect=$ec,read=$er,write=$ew,status=$es,timeout=$et"
    fi
    WHOAMI[$i]=$((WHOAMI[$i] + after - before))
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
PEAK_RSS_CACHED=$(rss_kib "$PID_CACHED" VmHWM)
PEAK_RSS_NOCACHE=$(rss_kib "$PID_NOCACHE" VmHWM)
PEAK_RSS_TLS=$(rss_kib "$PID_TLS" VmHWM)
# What each HTTPS server negotiates with a default OpenSSL client (wrk's library).
negotiated() { # port
  openssl s_client -connect "127.0.0.1:$1" -servername localhost </dev/null 2>/dev/null |
    awk '/^New, / { v = $2; c = $NF } END { if (v) print v ", " c; else print "?" }' | tr -d ,
}
NEGOTIATED_SSL=$(negotiated "$P_SSL")
NEGOTIATED_TLS=$(negotiated "$P_TLS")

median() { # numbers… → their median
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# shellcheck disable=SC2086
rps() { printf '%.0f' "$(median ${RPS[$1]})"; }
# shellcheck disable=SC2086
ms() { awk -v us="$(median $1)" 'BEGIN { printf "%.2f", us / 1000 }'; }
per_k() {
  if [ "$2" = yes ]; then
    awk -v w="${WHOAMI[$1]}" -v n="${REQS[$1]}" 'BEGIN { printf "%.1f", n ? w * 1000 / n : 0 }'
  else
    echo "–"
  fi
}
ctxt_per_req() {
  if [ "$2" != - ]; then
    awk -v c="${CTXT[$1]}" -v n="${REQS[$1]}" 'BEGIN { printf "%.2f", n ? c / n : 0 }'
  else
    echo "–"
  fi
}
ratio() { awk -v a="$(rps "$1")" -v b="$(rps "$2")" -v t="$3" \
  'BEGIN { r = b ? a / b : 0; printf "%.2f× (target ≥ %s×: %s)", r, t, (r >= t ? "met" : "NOT met") }'; }
times() { awk -v a="$(rps "$1")" -v b="$(rps "$2")" 'BEGIN { printf "%.2f×", b ? a / b : 0 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
met() { if [ "$1" = 1 ]; then echo met; else echo "NOT met"; fi; }

echo
echo "ory-proxy benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(uname -sr)"
echo "wrk -t$THREADS -c$CONNECTIONS, $ROUNDS rounds × $DURATION per scenario (alternating), medians of the rounds;"
echo "load average (1/5/15 min) before $LOAD_BEFORE, after $LOAD_AFTER"
echo
echo "| scenario | req/s (median) | req/s per round | p50 ms | p99 ms | whoami calls / 1000 req | ctx switches / req | wrk errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for i in "${!SCENARIOS[@]}"; do
  IFS='|' read -r name _ signed pid <<<"${SCENARIOS[$i]}"
  # shellcheck disable=SC2086
  rounds=$(printf '%s ' ${RPS[$i]})
  echo "| $name | $(rps "$i") | ${rounds% } | $(ms "${P50[$i]}") | $(ms "${P99[$i]}") | $(per_k "$i" "$signed") | $(ctxt_per_req "$i" "$pid") | ${ERRS[$i]} |"
done
# shellcheck disable=SC2086
P99_CACHED=$(median ${P99[3]})
# shellcheck disable=SC2086
P99_AUTHREQ=$(median ${P99[2]})
errors=0
for i in "${!SCENARIOS[@]}"; do errors=$((errors + ERRS[$i])); done
echo
echo "Targets (issue 9):"
echo "- anonymous            vs nginx plain proxy:  $(ratio 5 1 0.6)"
echo "- signed-in, cache on  vs nginx auth_request: $(ratio 3 2 1.8)"
echo "- signed-in, cache off vs nginx auth_request: $(ratio 4 2 0.9)"
echo "- signed-in, cache on p99 $(ms "$P99_CACHED") ms vs nginx auth_request p99 $(ms "$P99_AUTHREQ") ms (target ≤): $(met "$(awk -v a="$P99_CACHED" -v b="$P99_AUTHREQ" 'BEGIN { print (a <= b) }')")"
echo "- ory-proxy idle RSS: cache on $(mib "$IDLE_RSS_CACHED"), cache off $(mib "$IDLE_RSS_NOCACHE") (target < 10 MiB): $(met "$(awk -v a="$IDLE_RSS_CACHED" -v b="$IDLE_RSS_NOCACHE" 'BEGIN { print (a < 10240 && b < 10240) }')")"
echo "- wrk errors (connect/read/write/timeout/non-2xx), all scenarios: $errors (target 0): $(met "$([ "$errors" = 0 ] && echo 1)")"
echo
echo "TLS (issue 18; reported, no target):"
echo "- TLS anonymous vs nginx ssl: $(times 7 6)"
echo "- ory-proxy over TLS vs over plain HTTP: anonymous $(times 7 5), signed-in (cache on) $(times 8 3)"
echo "- nginx ssl vs nginx plain: $(times 6 1)"
echo "- negotiated (openssl s_client): nginx ssl $NEGOTIATED_SSL; ory-proxy $NEGOTIATED_TLS"
echo
echo "Also:"
echo "- ory-proxy context switches per request (all threads): cache on $(ctxt_per_req 3 x), cache off $(ctxt_per_req 4 x), anonymous $(ctxt_per_req 5 x), TLS anonymous $(ctxt_per_req 7 x), TLS signed-in $(ctxt_per_req 8 x)"
echo "- ory-proxy idle RSS over TLS: $(mib "$IDLE_RSS_TLS")"
echo "- ory-proxy peak RSS: cache on $(mib "$PEAK_RSS_CACHED"), cache off $(mib "$PEAK_RSS_NOCACHE"), TLS $(mib "$PEAK_RSS_TLS")"
for i in "${!SCENARIOS[@]}"; do
  if [ -n "${ERRKINDS[$i]}" ]; then
    IFS='|' read -r name _ _ _ <<<"${SCENARIOS[$i]}"
    echo "  - $name:${ERRKINDS[$i]}"
  fi
done
for f in "$WORK"/proxy-*.log; do
  if [ -s "$f" ]; then
    echo "- ory-proxy stderr ($(basename "$f" .log)), last lines:"
    tail -n 5 "$f" | sed 's/^/    /'
  fi
done
