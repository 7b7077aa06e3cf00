//! Counters and gauges for `/.ory/proxy/metrics`, in the Prometheus text format.
//!
//! Every metric is a static atomic updated with one relaxed `fetch_add`: no lock, no allocation,
//! no branch on whether `--metrics` is on, so any module can count from the hot path by calling a
//! function here (`metrics::cache_hit()`, `metrics::websocket_opened()`, …). Only rendering the
//! page reads them all; a scrape sees each value at some instant, not one global snapshot, which
//! is what Prometheus expects of a live process.
//!
//! Counting always happens; `--metrics` only decides whether the page is served, so turning it on
//! never changes the request path.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Who answered a request, the `route` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// Forwarded to Ory (`/.ory/…`).
    Ory,
    /// Forwarded to the application.
    Upstream,
    /// Answered by the proxy itself: JWKS, health, metrics, its own errors before forwarding.
    Local,
}

impl RouteKind {
    const ALL: [RouteKind; 3] = [RouteKind::Ory, RouteKind::Upstream, RouteKind::Local];

    /// The label value (also used in access logs).
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Ory => "ory",
            RouteKind::Upstream => "upstream",
            RouteKind::Local => "local",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How a session lookup (`/sessions/whoami`, a retry included) ended, the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhoamiOutcome {
    Active,
    Anonymous,
    RateLimited,
    Error,
}

impl WhoamiOutcome {
    const ALL: [WhoamiOutcome; 4] = [
        WhoamiOutcome::Active,
        WhoamiOutcome::Anonymous,
        WhoamiOutcome::RateLimited,
        WhoamiOutcome::Error,
    ];

    /// The label value (also the access log's session outcome).
    pub fn as_str(self) -> &'static str {
        match self {
            WhoamiOutcome::Active => "active",
            WhoamiOutcome::Anonymous => "anonymous",
            WhoamiOutcome::RateLimited => "rate_limited",
            WhoamiOutcome::Error => "error",
        }
    }
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Upper bounds of the latency buckets, in seconds (plus `+Inf`).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const BUCKETS_US: [u64; 14] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];
const N_BUCKETS: usize = LATENCY_BUCKETS.len() + 1;

static REQUESTS: [[AtomicU64; 5]; 3] = [const { [const { AtomicU64::new(0) }; 5] }; 3];
/// Per route: the count of requests whose latency fell in each bucket (not cumulative).
static LATENCY: [[AtomicU64; N_BUCKETS]; 3] =
    [const { [const { AtomicU64::new(0) }; N_BUCKETS] }; 3];
static LATENCY_SUM_US: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];
static WHOAMI: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
static CACHE_HITS: AtomicU64 = AtomicU64::new(0);
static CACHE_MISSES: AtomicU64 = AtomicU64::new(0);
static TOKENS_MINTED: AtomicU64 = AtomicU64::new(0);
static TOKENS_REUSED: AtomicU64 = AtomicU64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);
static SHED: AtomicU64 = AtomicU64::new(0);
static IN_FLIGHT: AtomicI64 = AtomicI64::new(0);
static CONNECTIONS: AtomicI64 = AtomicI64::new(0);
static WEBSOCKETS: AtomicI64 = AtomicI64::new(0);
static START_TIME: AtomicU64 = AtomicU64::new(0);

/// Records the process start (for `ory_proxy_start_time_seconds`).
pub fn init() {
    START_TIME.store(crate::obs::timefmt::unix_now(), Relaxed);
}

/// A request's head was read: it is in flight until the guard drops.
pub fn request_started() -> InFlight {
    IN_FLIGHT.fetch_add(1, Relaxed);
    InFlight(())
}

/// Keeps a request counted as in flight; dropping it (even on a panic) ends that.
#[must_use = "the request stops counting as in flight when this is dropped"]
pub struct InFlight(());

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Relaxed);
    }
}

/// A request was answered: counts it by route and status class and records its latency.
pub fn request_finished(route: RouteKind, status: u16, elapsed: Duration) {
    let class = usize::from(status / 100).clamp(1, 5) - 1;
    REQUESTS[route.index()][class].fetch_add(1, Relaxed);
    let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let bucket = BUCKETS_US
        .iter()
        .position(|&bound| us <= bound)
        .unwrap_or(N_BUCKETS - 1);
    LATENCY[route.index()][bucket].fetch_add(1, Relaxed);
    LATENCY_SUM_US[route.index()].fetch_add(us, Relaxed);
}

/// A new connection was refused: `--max-connections` were open, none of them idle.
pub fn connection_refused() {
    REFUSED.fetch_add(1, Relaxed);
}

/// An idle (or below `--min-data-rate`) connection was closed to make room for a new one
/// (`--max-connections`).
pub fn connection_shed() {
    SHED.fetch_add(1, Relaxed);
}

/// A client connection was accepted; it counts as open until the guard drops.
pub fn connection_opened() -> OpenConnection {
    CONNECTIONS.fetch_add(1, Relaxed);
    OpenConnection(())
}

/// Keeps a client connection counted as open; dropping it (even on a panic) ends that.
#[must_use = "the connection stops counting as open when this is dropped"]
pub struct OpenConnection(());

impl Drop for OpenConnection {
    fn drop(&mut self) {
        CONNECTIONS.fetch_sub(1, Relaxed);
    }
}

/// A session lookup against Ory ended with `outcome`.
pub fn whoami(outcome: WhoamiOutcome) {
    WHOAMI[outcome as usize].fetch_add(1, Relaxed);
}

/// The session cache answered without asking Ory.
pub fn cache_hit() {
    CACHE_HITS.fetch_add(1, Relaxed);
}

/// The session cache had no usable entry, so Ory was asked.
pub fn cache_miss() {
    CACHE_MISSES.fetch_add(1, Relaxed);
}

/// A token was signed.
pub fn token_minted() {
    TOKENS_MINTED.fetch_add(1, Relaxed);
}

/// A previously signed token was handed out again (no signature).
pub fn token_reused() {
    TOKENS_REUSED.fetch_add(1, Relaxed);
}

/// A WebSocket connection was established; it counts as open until the guard drops.
pub fn websocket_opened() -> OpenWebSocket {
    WEBSOCKETS.fetch_add(1, Relaxed);
    OpenWebSocket(())
}

/// Keeps a WebSocket counted as open; dropping it (even on a panic) closes it in the gauge.
#[must_use = "the WebSocket stops counting as open when this is dropped"]
pub struct OpenWebSocket(());

impl Drop for OpenWebSocket {
    fn drop(&mut self) {
        WEBSOCKETS.fetch_sub(1, Relaxed);
    }
}

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric in the Prometheus text exposition format (version 0.0.4).
pub fn render() -> String {
    let mut out = String::with_capacity(8 * 1024);
    // `write!` to a String cannot fail.
    let mut w = |s: std::fmt::Arguments<'_>| {
        let _ = out.write_fmt(s);
    };

    w(format_args!(
        "# HELP ory_proxy_build_info The running version.\n\
         # TYPE ory_proxy_build_info gauge\n\
         ory_proxy_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    ));
    w(format_args!(
        "# HELP ory_proxy_start_time_seconds Start of the process, Unix seconds.\n\
         # TYPE ory_proxy_start_time_seconds gauge\n\
         ory_proxy_start_time_seconds {}\n",
        START_TIME.load(Relaxed)
    ));

    w(format_args!(
        "# HELP ory_proxy_requests_total Requests answered, by route (ory, upstream, local) and status class.\n\
         # TYPE ory_proxy_requests_total counter\n"
    ));
    for route in RouteKind::ALL {
        for (class, name) in CLASSES.iter().enumerate() {
            w(format_args!(
                "ory_proxy_requests_total{{route=\"{}\",class=\"{name}\"}} {}\n",
                route.as_str(),
                REQUESTS[route.index()][class].load(Relaxed)
            ));
        }
    }

    w(format_args!(
        "# HELP ory_proxy_request_duration_seconds Time from picking a request up to its last byte written.\n\
         # TYPE ory_proxy_request_duration_seconds histogram\n"
    ));
    for route in RouteKind::ALL {
        let r = route.as_str();
        let mut cumulative = 0u64;
        for (i, counter) in LATENCY[route.index()].iter().enumerate() {
            cumulative += counter.load(Relaxed);
            match LATENCY_BUCKETS.get(i) {
                Some(le) => w(format_args!(
                    "ory_proxy_request_duration_seconds_bucket{{route=\"{r}\",le=\"{le}\"}} {cumulative}\n"
                )),
                None => w(format_args!(
                    "ory_proxy_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {cumulative}\n"
                )),
            }
        }
        let sum = LATENCY_SUM_US[route.index()].load(Relaxed) as f64 / 1e6;
        w(format_args!(
            "ory_proxy_request_duration_seconds_sum{{route=\"{r}\"}} {sum}\n\
             ory_proxy_request_duration_seconds_count{{route=\"{r}\"}} {cumulative}\n"
        ));
    }

    w(format_args!(
        "# HELP ory_proxy_whoami_calls_total Session lookups against Ory, by outcome (a retry counts once).\n\
         # TYPE ory_proxy_whoami_calls_total counter\n"
    ));
    for outcome in WhoamiOutcome::ALL {
        w(format_args!(
            "ory_proxy_whoami_calls_total{{outcome=\"{}\"}} {}\n",
            outcome.as_str(),
            WHOAMI[outcome as usize].load(Relaxed)
        ));
    }

    let counters: [(&str, &str, &AtomicU64); 6] = [
        (
            "ory_proxy_session_cache_hits_total",
            "Session lookups answered from the cache.",
            &CACHE_HITS,
        ),
        (
            "ory_proxy_session_cache_misses_total",
            "Session lookups the cache could not answer.",
            &CACHE_MISSES,
        ),
        (
            "ory_proxy_tokens_minted_total",
            "Tokens signed.",
            &TOKENS_MINTED,
        ),
        (
            "ory_proxy_tokens_reused_total",
            "Tokens handed out again without a new signature.",
            &TOKENS_REUSED,
        ),
        (
            "ory_proxy_connections_refused_total",
            "New connections refused (503) because --max-connections were open and busy.",
            &REFUSED,
        ),
        (
            "ory_proxy_connections_shed_total",
            "Idle or below --min-data-rate connections closed to make room for new ones (--max-connections).",
            &SHED,
        ),
    ];
    for (name, help, value) in counters {
        w(format_args!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            value.load(Relaxed)
        ));
    }

    let gauges: [(&str, &str, &AtomicI64); 3] = [
        (
            "ory_proxy_requests_in_flight",
            "Requests being handled.",
            &IN_FLIGHT,
        ),
        (
            "ory_proxy_connections_open",
            "Client connections open (each has its own thread).",
            &CONNECTIONS,
        ),
        (
            "ory_proxy_websockets_open",
            "WebSocket connections being relayed.",
            &WEBSOCKETS,
        ),
    ];
    for (name, help, value) in gauges {
        w(format_args!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}\n",
            value.load(Relaxed).max(0)
        ));
    }
    out
}

#[cfg(test)]
mod tests;
