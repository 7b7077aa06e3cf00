//! `/.ory/proxy/metrics`: 404 without `--metrics`; with it, Prometheus text whose counters move
//! with traffic.

use crate::util::external::{python, run_ok};
use crate::util::prometheus;
use crate::util::ws::{WsClient, WsEcho, CLOSE};
use crate::util::{wait_until, FakeOry, ProxyProcess, Req, Upstream, Whoami};
use serde_json::json;
use std::time::Duration;

/// Every sample of a metrics page, `name{labels}` → value, the page read strictly
/// ([`prometheus::parse`]: every line in the exposition format, HELP and TYPE before samples).
fn samples(page: &str) -> std::collections::HashMap<String, f64> {
    prometheus::parse(page)
        .unwrap_or_else(|e| panic!("not the Prometheus text format: {e}\n{page}"))
        .iter()
        .flat_map(|f| &f.samples)
        .map(|s| (s.series(), s.value))
        .collect()
}

/// The metrics page, its status and content type checked.
fn page(proxy: &ProxyProcess) -> String {
    let r = Req::get(&proxy.url("/.ory/proxy/metrics")).send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    r.text()
}

fn scrape(proxy: &ProxyProcess) -> std::collections::HashMap<String, f64> {
    samples(&page(proxy))
}

/// Reads the page with the Prometheus project's own Python parser
/// (`prometheus_client.parser.text_string_to_metric_families`, pinned in
/// tests/clients/requirements.txt): one `[type, help, sample name, [[label, value]…], value]`
/// per sample, in page order.
const PROMETHEUS_PY: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.argv[1]):
    for s in family.samples:
        assert s.timestamp is None and s.exemplar is None, s
        out.append([family.type, family.documentation, s.name,
                    [[k, v] for k, v in s.labels.items()], repr(float(s.value))])
print(json.dumps(out))
"#;

/// Asserts that a parser the project did not write reads `page` sample for sample as
/// [`prometheus::parse`] does (skipped without the Python test clients, unless CI).
fn python_reads_the_same(page: &str) {
    let Some(mut py) = python() else { return };
    py.args(["-c", PROMETHEUS_PY, page]);
    let seen: serde_json::Value =
        serde_json::from_str(&run_ok(py, Duration::from_secs(60))).expect("JSON from Python");
    let ours: Vec<serde_json::Value> = prometheus::parse(page)
        .unwrap()
        .iter()
        .flat_map(|f| {
            f.samples
                .iter()
                .map(|s| json!([f.kind, f.help, s.name, s.labels, s.value]))
        })
        .collect();
    let theirs: Vec<serde_json::Value> = seen
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| {
            let v: f64 = s[4].as_str().unwrap().parse().unwrap();
            json!([s[0], s[1], s[2], s[3], v])
        })
        .collect();
    assert_eq!(
        theirs.len(),
        ours.len(),
        "samples read by prometheus_client:\n{page}"
    );
    for (theirs, ours) in theirs.iter().zip(&ours) {
        assert_eq!(theirs, ours, "prometheus_client's reading, and ours");
    }
}

fn get(m: &std::collections::HashMap<String, f64>, series: &str) -> f64 {
    *m.get(series)
        .unwrap_or_else(|| panic!("{series} missing from {m:#?}"))
}

#[test]
fn metrics_are_off_by_default() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    Req::get(&proxy.url("/.ory/proxy/metrics"))
        .send()
        .assert_proxy_error(404);
    assert_eq!(upstream.request_count() + ory.requests().len(), 0);
}

#[test]
fn counters_move_with_traffic() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--metrics"]);
    let before = scrape(&proxy);
    let session = ory.create_session("metrics@example.org");

    // Upstream: one anonymous, two signed in (the second from the cache, with a reused token).
    for cookie in [None, Some(session.cookie()), Some(session.cookie())] {
        let mut req = Req::get(&proxy.url("/app"));
        if let Some(c) = &cookie {
            req = req.header("Cookie", c);
        }
        assert_eq!(req.send().status, 200);
    }
    // Ory: a path the fake does not know (4xx from Ory).
    assert_eq!(Req::get(&proxy.url("/.ory/nope")).send().status, 404);
    // Local: a path of the proxy's own that does not exist.
    assert_eq!(Req::get(&proxy.url("/.ory/proxy/nope")).send().status, 404);
    // A failing lookup: whoami answers 500 twice (one retry), the client gets 502.
    let failing = ory.create_session("failing@example.org");
    ory.set_whoami(Whoami::Status(500));
    let r = Req::get(&proxy.url("/app"))
        .header("Cookie", &failing.cookie())
        .send();
    assert_eq!(r.status, 502);

    let after_page = page(&proxy);
    python_reads_the_same(&after_page);
    let after = samples(&after_page);
    let delta = |series: &str| get(&after, series) - get(&before, series);
    assert_eq!(
        delta(r#"ory_proxy_requests_total{route="upstream",class="2xx"}"#),
        3.0
    );
    assert_eq!(
        delta(r#"ory_proxy_requests_total{route="upstream",class="5xx"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"ory_proxy_requests_total{route="ory",class="4xx"}"#),
        1.0
    );
    // The first scrape and the unknown proxy path.
    assert_eq!(
        delta(r#"ory_proxy_requests_total{route="local",class="2xx"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"ory_proxy_requests_total{route="local",class="4xx"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"ory_proxy_request_duration_seconds_count{route="upstream"}"#),
        4.0
    );
    assert_eq!(
        delta(r#"ory_proxy_request_duration_seconds_bucket{route="upstream",le="+Inf"}"#),
        4.0
    );
    assert!(delta(r#"ory_proxy_request_duration_seconds_sum{route="upstream"}"#) > 0.0);
    assert_eq!(
        delta(r#"ory_proxy_whoami_calls_total{outcome="active"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"ory_proxy_whoami_calls_total{outcome="error"}"#),
        1.0
    );
    assert_eq!(delta("ory_proxy_session_cache_hits_total"), 1.0);
    assert_eq!(delta("ory_proxy_session_cache_misses_total"), 2.0);
    assert_eq!(delta("ory_proxy_tokens_minted_total"), 1.0);
    assert_eq!(delta("ory_proxy_tokens_reused_total"), 1.0);
    // The scrape itself is in flight, on an open connection; nothing refused; no WebSockets.
    assert_eq!(get(&after, "ory_proxy_requests_in_flight"), 1.0);
    assert!(get(&after, "ory_proxy_connections_open") >= 1.0);
    assert_eq!(get(&after, "ory_proxy_connections_refused_total"), 0.0);
    assert_eq!(get(&after, "ory_proxy_websockets_open"), 0.0);
    assert_eq!(
        ory.whoami_calls(),
        3,
        "one active lookup, one failed lookup retried once"
    );

    // Metrics are read-only.
    let post = Req::post(&proxy.url("/.ory/proxy/metrics")).send();
    post.assert_proxy_error(405);
}

#[test]
fn open_websockets_are_counted_until_they_close() {
    let ory = FakeOry::start();
    let echo = WsEcho::start();
    let proxy = ProxyProcess::start(&echo.url(), &ory.url(), &["--metrics", "--no-jwt"]);
    let open = || get(&scrape(&proxy), "ory_proxy_websockets_open");
    assert_eq!(open(), 0.0);
    let mut sockets: Vec<WsClient> = (0..3)
        .map(|_| WsClient::connect(proxy.addr, "/", &[]).expect("101"))
        .collect();
    for ws in &mut sockets {
        assert!(ws.read_text().starts_with("hello "));
    }
    wait_until("three open WebSockets", || (open() == 3.0).then_some(()));
    // A clean close (close frame both ways, then the end of the stream) ends the relay.
    let close = |mut ws: WsClient| {
        ws.send_close();
        assert_eq!(ws.read().expect("close frame").opcode, CLOSE);
        let _ = std::io::Read::read_to_end(&mut ws.stream, &mut Vec::new());
    };
    close(sockets.pop().unwrap());
    wait_until("two open WebSockets", || (open() == 2.0).then_some(()));
    sockets.into_iter().for_each(close);
    wait_until("no open WebSocket", || (open() == 0.0).then_some(()));
    let m = scrape(&proxy);
    // The handshakes were upstream requests answered 101.
    assert_eq!(
        get(
            &m,
            r#"ory_proxy_requests_total{route="upstream",class="1xx"}"#
        ),
        3.0
    );
}
