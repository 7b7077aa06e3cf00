//! `--metrics-address`: metrics and health on an operator address of their own; the public port
//! then answers 404 for `/.ory/proxy/metrics` and keeps its health endpoints. `--metrics` alone
//! keeps the page public and the banner says so.

use crate::util::{run_cli, ProxyProcess, Req, Stack};
use std::net::TcpListener;

/// `http://ADDR` of the operator port, as the banner shows it.
fn ops_base(proxy: &ProxyProcess) -> String {
    let line = proxy.wait_for_log(|l| l.trim_start().starts_with("metrics "));
    let url = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no URL in {line}"));
    url.strip_suffix("/metrics")
        .unwrap_or_else(|| panic!("not a metrics URL: {url}"))
        .to_owned()
}

/// The upstream 2xx count of a page read strictly (the Prometheus text format, every line).
fn upstream_200s(page: &str) -> f64 {
    crate::util::prometheus::parse(page)
        .unwrap_or_else(|e| panic!("not the Prometheus text format: {e}\n{page}"))
        .iter()
        .flat_map(|f| &f.samples)
        .find(|s| s.series() == r#"ory_proxy_requests_total{route="upstream",class="2xx"}"#)
        .unwrap_or_else(|| panic!("no upstream 2xx count in\n{page}"))
        .value
}

#[test]
fn metrics_and_health_on_their_own_address_and_not_on_the_public_port() {
    let stack = Stack::start(&["--metrics", "--metrics-address", "127.0.0.1:0"]);
    let ops = ops_base(&stack.proxy);
    assert_ne!(ops, format!("http://{}", stack.proxy.addr));

    let before = Req::get(&format!("{ops}/metrics")).send();
    assert_eq!(before.status, 200, "{}", before.text());
    assert_eq!(
        before.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(Req::get(&stack.proxy.url("/app")).send().status, 200);
    let after = Req::get(&format!("{ops}/metrics")).send().text();
    assert_eq!(upstream_200s(&after), upstream_200s(&before.text()) + 1.0);

    for path in ["/health/alive", "/health/ready"] {
        let r = Req::get(&format!("{ops}{path}")).send();
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json()["status"], "ok", "{path}");
        // Health stays on the public port too, for load balancers.
        let public = Req::get(&stack.proxy.url(&format!("/.ory/proxy{path}"))).send();
        assert_eq!(public.status, 200, "public {path}");
    }
    assert_eq!(Req::get(&format!("{ops}/other")).send().status, 404);
    assert_eq!(
        Req::get(&format!("{ops}/.ory/jwks.json")).send().status,
        404
    );

    let public = Req::get(&stack.proxy.url("/.ory/proxy/metrics")).send();
    assert_eq!(public.status, 404, "{}", public.text());
    assert!(!stack.proxy.stderr().contains("metrics are public"));
}

#[test]
fn metrics_alone_stay_public_and_the_banner_says_how_to_move_them() {
    let stack = Stack::start(&["--metrics"]);
    assert_eq!(
        Req::get(&stack.proxy.url("/.ory/proxy/metrics"))
            .send()
            .status,
        200
    );
    let note = stack
        .proxy
        .wait_for_log(|l| l.contains("metrics are public"));
    assert!(
        note.contains("/.ory/proxy/metrics") && note.contains("--metrics-address"),
        "{note}"
    );
}

#[test]
fn the_variable_works_and_a_taken_address_stops_the_start() {
    let stack = {
        let ory = crate::util::FakeOry::start();
        let upstream = crate::util::Upstream::start();
        let proxy = ProxyProcess::start_args(
            &[&upstream.url(), "--sdk-url", &ory.url()],
            &[("ORY_PROXY_METRICS_ADDRESS", "127.0.0.1:0")],
        );
        (ory, upstream, proxy)
    };
    let ops = ops_base(&stack.2);
    assert_eq!(Req::get(&format!("{ops}/metrics")).send().status, 200);
    assert_eq!(
        Req::get(&stack.2.url("/.ory/proxy/metrics")).send().status,
        404
    );

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_cli(
        &[
            "http://127.0.0.1:1",
            "--sdk-url",
            "http://127.0.0.1:2",
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--metrics-address",
            &addr,
        ],
        &[],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("cannot listen on {addr} (--metrics-address)")),
        "{}",
        out.stderr
    );
}
