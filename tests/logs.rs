//! Access logs: one line per request, `--log-format json` lines that all parse, request ids that
//! travel to Ory and the upstream, and never a cookie, token, JWT or query value in any line.

use crate::util::{proxy::bearer_of, FakeOry, ProxyProcess, Req, Upstream, Whoami};
use serde_json::Value;

/// The JSON access lines logged so far.
fn access_lines(proxy: &ProxyProcess) -> Vec<Value> {
    proxy
        .stderr()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["msg"] == "access")
        .collect()
}

fn wait_for_access_lines(proxy: &ProxyProcess, n: usize) -> Vec<Value> {
    crate::util::wait_until(&format!("{n} access lines"), || {
        let lines = access_lines(proxy);
        (lines.len() >= n).then_some(lines)
    })
}

#[test]
fn every_json_line_parses_and_holds_no_secret() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &["--log-format", "json", "--debug"],
    );
    let session = ory.create_session("logs@example.org");
    let secret_query = "code=QUERYSECRET123";

    // Cookie, session token and bearer credentials; a query with a secret; an Ory path; a
    // failing lookup (error lines); a proxy-own path.
    let r = Req::get(&proxy.url(&format!("/app?{secret_query}")))
        .header("Cookie", &session.cookie())
        .send();
    assert_eq!(r.status, 200);
    let jwt = bearer_of(&upstream.last_request()).expect("token");
    let other = ory.create_session("token@example.org");
    let r = Req::get(&proxy.url("/api"))
        .header("X-Session-Token", &other.token)
        .send();
    assert_eq!(r.status, 200);
    let third = ory.create_session("bearer@example.org");
    let r = Req::post(&proxy.url("/api/items"))
        .header("Authorization", &third.bearer())
        .body("{\"a\":1}")
        .send();
    assert_eq!(r.status, 200);
    let r = Req::get(&proxy.url(&format!(
        "/.ory/self-service/logout?token=LOGOUTSECRET&{secret_query}"
    )))
    .header("Cookie", &session.cookie())
    .send();
    assert!(r.status < 500, "{}", r.status);
    ory.set_whoami(Whoami::Status(500));
    let failing = ory.create_session("failing@example.org");
    let r = Req::get(&proxy.url("/fails"))
        .header("Cookie", &failing.cookie())
        .send();
    assert_eq!(r.status, 502);
    assert_eq!(Req::get(&proxy.url("/.ory/proxy/nope")).send().status, 404);

    let lines = wait_for_access_lines(&proxy, 6);
    let stderr = proxy.stderr();
    for line in stderr.lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["time"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{line}"
        );
        assert!(
            ["info", "warn", "error", "debug"].contains(&v["level"].as_str().unwrap_or("")),
            "{line}"
        );
        assert!(v["msg"].is_string(), "{line}");
    }
    for secret in [
        session.token.as_str(),
        other.token.as_str(),
        third.token.as_str(),
        failing.token.as_str(),
        jwt.as_str(),
        "QUERYSECRET123",
        "LOGOUTSECRET",
        "Bearer",
        "ory_kratos_session=",
    ] {
        assert!(!stderr.contains(secret), "{secret:?} logged:\n{stderr}");
    }
    assert!(
        stderr.contains("\"level\":\"error\""),
        "the 502 is logged as an error"
    );
    assert!(
        stderr.contains("\"level\":\"debug\""),
        "--debug lines are JSON too"
    );

    let by_path = |p: &str| {
        lines
            .iter()
            .find(|l| l["path"] == p)
            .unwrap_or_else(|| panic!("no access line for {p}: {lines:#?}"))
    };
    let app = by_path("/app");
    assert_eq!(app["method"], "GET");
    assert_eq!(app["status"], 200);
    assert_eq!(app["route"], "upstream");
    assert_eq!(app["session"], "active");
    assert!(app["duration_ms"].as_f64().is_some_and(|d| d >= 0.0));
    assert!(app["bytes"].as_u64().is_some_and(|b| b > 0));
    assert!(app["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(by_path("/api/items")["method"], "POST");
    assert_eq!(by_path("/.ory/self-service/logout")["route"], "ory");
    assert_eq!(by_path("/.ory/self-service/logout")["session"], "none");
    let fails = by_path("/fails");
    assert_eq!(
        (fails["status"].as_u64(), fails["session"].as_str()),
        (Some(502), Some("error"))
    );
    let own = by_path("/.ory/proxy/nope");
    assert_eq!(
        (own["status"].as_u64(), own["route"].as_str()),
        (Some(404), Some("local"))
    );
}

#[test]
fn request_ids_travel_to_ory_and_the_upstream() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--log-format", "json"]);
    let session = ory.create_session("ids@example.org");

    // A client id is kept, forwarded to whoami and to the upstream, and logged.
    let r = Req::get(&proxy.url("/with-id"))
        .header("Cookie", &session.cookie())
        .header("X-Request-Id", "client-id-42")
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(
        upstream.last_request().header("x-request-id"),
        Some("client-id-42")
    );
    assert_eq!(
        ory.whoami_requests()[0].header("x-request-id"),
        Some("client-id-42")
    );

    // Without one (or with an unusable one), the proxy makes one up and sends that.
    let r = Req::get(&proxy.url("/without-id")).send();
    assert_eq!(r.status, 200);
    let generated = upstream
        .last_request()
        .header("x-request-id")
        .expect("a generated id")
        .to_owned();
    let too_long = "x".repeat(200);
    Req::get(&proxy.url("/bad-id"))
        .header("X-Request-Id", &too_long)
        .send();
    let replaced = upstream.last_request();
    assert_eq!(replaced.header_all("x-request-id").len(), 1);
    let replaced = replaced.header("x-request-id").unwrap().to_owned();
    assert_ne!(replaced, too_long);
    assert_ne!(replaced, generated);
    // Requests to Ory carry it as well.
    Req::get(&proxy.url("/.ory/self-service/login/browser"))
        .header("X-Request-Id", "ory-bound-7")
        .send();
    assert_eq!(
        ory.last_request().header("x-request-id"),
        Some("ory-bound-7")
    );

    let lines = wait_for_access_lines(&proxy, 4);
    let id_of = |p: &str| {
        lines
            .iter()
            .find(|l| l["path"] == p)
            .map(|l| l["request_id"].as_str().unwrap_or("").to_owned())
            .unwrap_or_else(|| panic!("no line for {p}"))
    };
    assert_eq!(id_of("/with-id"), "client-id-42");
    assert_eq!(id_of("/without-id"), generated);
    assert_eq!(id_of("/bad-id"), replaced);
    assert_eq!(id_of("/.ory/self-service/login/browser"), "ory-bound-7");
}

#[test]
fn text_access_lines_name_route_session_and_id() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    Req::get(&proxy.url("/plain?secret=QUERYVALUE"))
        .header("X-Request-Id", "text-id-1")
        .send();
    let line = proxy.wait_for_log(|l| l.contains(" GET /plain "));
    assert!(line.contains(" 200 "), "{line}");
    assert!(line.contains("route=upstream"), "{line}");
    assert!(line.contains("session=none"), "{line}");
    assert!(line.contains("id=text-id-1"), "{line}");
    assert!(!proxy.stderr().contains("QUERYVALUE"));
}

/// A request whose `Origin` and `Content-Length` carry a right-to-left override (U+202E), a
/// line separator (U+2028) and a zero-width space (U+200B): the text lines have them escaped,
/// the JSON lines as `\u202e`; neither carries them raw.
#[test]
fn bidi_and_line_separators_never_reach_a_log_line_raw() {
    use crate::util::client::{raw_exchange, RawResponse};
    let odd = "\u{202e}\u{2028}\u{200b}";
    let send = |proxy: &ProxyProcess| {
        let origin = format!("GET /o HTTP/1.1\r\nHost: a\r\nOrigin: https://evil{odd}.test\r\nConnection: close\r\n\r\n");
        let r = RawResponse::parse(&raw_exchange(proxy.addr, origin.as_bytes()));
        assert_eq!(r.status, 200);
        let length = format!(
            "POST /l HTTP/1.1\r\nHost: a\r\nContent-Length: 1{odd}\r\nConnection: close\r\n\r\nx"
        );
        let r = RawResponse::parse(&raw_exchange(proxy.addr, length.as_bytes()));
        assert_eq!(r.status, 400);
    };
    let (ory, upstream) = (FakeOry::start(), Upstream::start());

    let text = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    send(&text);
    let warn = text.wait_for_log(|l| l.contains("WARN") && l.contains("denied origin"));
    assert!(
        warn.contains(r"https://evil\u{202e}\u{2028}\u{200b}.test"),
        "{warn}"
    );
    let error = text.wait_for_log(|l| l.contains("ERROR") && l.contains("POST /l 400"));
    assert!(error.contains(r"1\u{202e}\u{2028}\u{200b}"), "{error}");

    let json = ProxyProcess::start(&upstream.url(), &ory.url(), &["--log-format", "json"]);
    send(&json);
    let warn = json.wait_for_log(|l| l.contains("denied origin"));
    assert!(
        warn.contains(r"https://evil\u202e\u2028\u200b.test"),
        "{warn}"
    );
    let error = json.wait_for_log(|l| l.contains(r#""path":"/l""#));
    assert!(error.contains(r"1\u202e\u2028\u200b"), "{error}");
    assert_eq!(
        serde_json::from_str::<Value>(&error).unwrap()["status"],
        400
    );

    for stderr in [text.stderr(), json.stderr()] {
        for c in odd.chars() {
            assert!(
                !stderr.contains(c),
                "raw U+{:04X} in:\n{stderr}",
                u32::from(c)
            );
        }
    }
}
