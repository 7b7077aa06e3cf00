//! Tests of the counters, the histogram and the page's format.

use super::*;

/// The value of one sample line (`name{labels} value`) in a rendered page.
fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} missing"))
        .parse()
        .unwrap()
}

// The statics are shared by every unit test in this binary, so checks compare before/after.
#[test]
fn counters_move() {
    let series = r#"ory_proxy_requests_total{route="ory",class="4xx"}"#;
    let before = sample(&render(), series);
    request_finished(RouteKind::Ory, 404, Duration::from_millis(3));
    request_finished(RouteKind::Ory, 499, Duration::from_millis(3));
    assert_eq!(sample(&render(), series), before + 2.0);

    let whoami_series = r#"ory_proxy_whoami_calls_total{outcome="rate_limited"}"#;
    let before = sample(&render(), whoami_series);
    whoami(WhoamiOutcome::RateLimited);
    assert_eq!(sample(&render(), whoami_series), before + 1.0);

    let before = sample(&render(), "ory_proxy_session_cache_hits_total");
    cache_hit();
    assert_eq!(
        sample(&render(), "ory_proxy_session_cache_hits_total"),
        before + 1.0
    );
}

#[test]
fn histogram_is_cumulative() {
    request_finished(RouteKind::Local, 200, Duration::from_micros(700));
    request_finished(RouteKind::Local, 200, Duration::from_secs(60));
    let page = render();
    let le = |b: &str| {
        sample(
            &page,
            &format!(r#"ory_proxy_request_duration_seconds_bucket{{route="local",le="{b}"}}"#),
        )
    };
    assert!(le("0.0005") <= le("0.001"));
    assert!(le("0.001") >= 1.0);
    assert!(le("10") < le("+Inf"));
    assert_eq!(
        le("+Inf"),
        sample(
            &page,
            r#"ory_proxy_request_duration_seconds_count{route="local"}"#
        )
    );
    assert!(
        sample(
            &page,
            r#"ory_proxy_request_duration_seconds_sum{route="local"}"#
        ) >= 60.0
    );
}

#[test]
fn websocket_gauge_follows_guards() {
    let name = "ory_proxy_websockets_open";
    let a = websocket_opened();
    let b = websocket_opened();
    assert!(sample(&render(), name) >= 2.0);
    drop(a);
    drop(b);
    // Other tests do not open WebSockets, so the gauge is back to zero.
    assert_eq!(sample(&render(), name), 0.0);
}

#[test]
fn every_line_is_well_formed() {
    for line in render().lines() {
        if line.starts_with('#') {
            assert!(
                line.starts_with("# HELP ory_proxy_") || line.starts_with("# TYPE ory_proxy_"),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(series.starts_with("ory_proxy_"), "{line}");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}
