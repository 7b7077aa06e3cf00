//! Requests that come back (SPEC §9, issue 17): forwarded requests carry `Via: 1.1 <token>`
//! with a token of the process; a proxy whose upstream (or, in tunnel mode, whose Ory) is itself
//! answers 508 Loop Detected at once, says why, and writes a handful of lines, not thousands.

use crate::util::external::{self, curl};
use crate::util::proxy::free_port;
use crate::util::{FakeOry, ProxyProcess, Req, Upstream};
use std::time::{Duration, Instant};

/// The `Via` entries the next hop received.
fn via_of(req: &crate::util::Recorded) -> Vec<String> {
    req.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("via"))
        .map(|(_, v)| v.clone())
        .collect()
}

#[test]
fn forwarded_requests_carry_via_with_a_token_of_the_process() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let one = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let two = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    Req::get(&one.url("/a")).header("Via", "1.0 cdn").send();
    Req::get(&one.url("/b")).send();
    Req::get(&two.url("/c")).send();
    Req::get(&one.url("/.ory/health")).send();
    let seen = upstream.requests();
    let vias: Vec<Vec<String>> = seen.iter().map(via_of).collect();
    // The client's entry first, the proxy's appended (RFC 9110 §7.6.3).
    assert_eq!(vias[0].len(), 2, "{vias:?}");
    assert_eq!(vias[0][0], "1.0 cdn");
    let own = &vias[0][1];
    assert!(
        own.starts_with("1.1 ory-proxy-") && own.len() == 30,
        "{own}"
    );
    assert_eq!(vias[1], vec![own.clone()], "same process, same token");
    assert_ne!(&vias[2][0], own, "another process, another token");
    assert_eq!(via_of(&ory.last_request()), vec![own.clone()], "Ory too");
}

#[test]
fn an_upstream_that_is_the_proxy_itself_is_508_at_once_with_a_warning() {
    let ory = FakeOry::start();
    let port = free_port().to_string();
    let myself = format!("http://127.0.0.1:{port}");
    let proxy = ProxyProcess::start(&myself, &ory.url(), &["--port", &port]);
    let warning = proxy.wait_for_log(|l| l.contains("own address"));
    assert!(
        warning.contains(&format!(
            "the upstream {myself} is this proxy's own address (it listens on 127.0.0.1:{port}): \
             requests sent there come back here and get 508 Loop Detected — start your \
             application on another port and pass its URL"
        )),
        "{warning}"
    );
    let lines_before = proxy.stderr().lines().count();
    let started = Instant::now();
    // curl: a client the project did not write.
    let Some(mut cmd) = curl() else { return };
    cmd.args(["-sS", "-H", "X-Request-Id: loop-1", "-w", "\n%{http_code}"])
        .arg(format!("{myself}/dashboard"));
    let out = external::run_ok(cmd, Duration::from_secs(30));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let (body, status) = out.rsplit_once('\n').unwrap();
    assert_eq!(status, "508", "{out}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["error"]["status"], "Loop Detected");
    assert_eq!(
        v["error"]["message"],
        "loop detected: the upstream points back at this proxy"
    );
    // Give stray repeats time to show, then count.
    std::thread::sleep(Duration::from_millis(300));
    let log = proxy.stderr();
    let new: Vec<&str> = log.lines().skip(lines_before).collect();
    assert!(new.len() < 10, "{} lines:\n{log}", new.len());
    let line = new
        .iter()
        .find(|l| l.contains(" 508 ") && l.contains("ERROR"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        line.contains(&format!(
            "the upstream points back at this proxy: {myself} is ory-proxy itself, not your \
             application — start your application on another port and pass its URL"
        )),
        "{line}"
    );
}

#[test]
fn a_tunnel_whose_ory_is_itself_is_508_naming_ory() {
    let app = Upstream::start();
    let port = free_port().to_string();
    let myself = format!("http://127.0.0.1:{port}");
    let proxy = ProxyProcess::start_args(
        &["tunnel", &app.url(), "--sdk-url", &myself, "--port", &port],
        &[],
    );
    proxy.wait_for_log(|l| {
        l.contains(&format!(
            "Ory's URL {myself} (--sdk-url) is this proxy's own address (it listens on \
             127.0.0.1:{port}): requests sent there come back here and get 508 Loop Detected \
             — check --sdk-url"
        ))
    });
    let r = Req::get(&proxy.url("/self-service/login/browser"))
        .header("Accept", "application/json")
        .send();
    assert_eq!(
        r.assert_proxy_error(508),
        "loop detected: Ory's URL points back at this proxy"
    );
    proxy.wait_for_log(|l| {
        l.contains(&format!(
            "Ory's URL points back at this proxy: {myself} is ory-proxy itself, not Ory — check \
             --sdk-url"
        ))
    });
}
