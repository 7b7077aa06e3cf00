//! SPEC §4 CORS: preflights answered by the proxy, allowed origins echoed with credentials,
//! upstream CORS headers never duplicated, `--debug` explaining each decision.

use crate::util::{FakeOry, ProxyProcess, Reply, Req, Stack, Upstream};

fn preflight(proxy: &ProxyProcess, path: &str, origin: &str) -> crate::util::Resp {
    Req::new("OPTIONS", &proxy.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "PUT")
        .header(
            "Access-Control-Request-Headers",
            "content-type, x-csrf-token, x-custom",
        )
        .send()
}

#[test]
fn preflights_are_answered_by_the_proxy() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &[
            "--allowed-cors-origins",
            "https://*.example.org,https://admin.example.net:8443",
            "--additional-cors-headers",
            "X-Custom",
            "--debug",
        ],
    );
    let public = format!("http://{}", proxy.public_authority());
    for (path, origin) in [
        ("/api/items", public.as_str()),
        ("/api/items", "https://app.example.org"),
        ("/.ory/self-service/login", "https://admin.example.net:8443"),
    ] {
        let r = preflight(&proxy, path, origin);
        assert_eq!(r.status, 204, "{path} {origin}");
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(r.header("access-control-allow-methods"), Some("PUT"));
        let allowed = r
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        for h in [
            "content-type",
            "x-csrf-token",
            "x-session-token",
            "x-custom",
        ] {
            assert!(allowed.contains(h), "{h} not in {allowed}");
        }
        assert!(r.header("vary").is_some_and(|v| v.contains("Origin")));
        assert!(r.body.is_empty());
    }
    for origin in [
        "https://evil.example",
        "https://example.org",
        "https://a.b.example.org",
        "http://app.example.org",
        "https://admin.example.net",
        "null",
    ] {
        let r = preflight(&proxy, "/api/items", origin);
        assert_eq!(r.status, 204, "{origin}");
        assert_eq!(r.header("access-control-allow-origin"), None, "{origin}");
        assert_eq!(
            r.header("access-control-allow-credentials"),
            None,
            "{origin}"
        );
    }
    assert_eq!(
        upstream.request_count(),
        0,
        "preflights never reach the upstream"
    );
    assert!(ory.forwarded_requests().is_empty(), "nor Ory");
    proxy.wait_for_log(|l| {
        l.contains("cors: preflight PUT /api/items")
            && l.contains(
                "https://app.example.org allowed by --allowed-cors-origins https://*.example.org",
            )
    });
    proxy.wait_for_log(|l| {
        l.contains("cors: preflight") && l.contains("https://evil.example denied")
    });

    // A plain OPTIONS (no Access-Control-Request-Method) is the application's.
    let r = Req::new("OPTIONS", &proxy.url("/api/items"))
        .header("Origin", "https://evil.example")
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(upstream.request_count(), 1);
}

#[test]
fn actual_requests_echo_allowed_origins_and_drop_upstream_cors() {
    let ory = FakeOry::start();
    ory.set_hook(|r| {
        (r.path() == "/cors").then(|| {
            Reply::new(200)
                .header("Access-Control-Allow-Origin", "*")
                .header("Vary", "Accept-Encoding")
                .into()
        })
    });
    let upstream = Upstream::with(|_| {
        Some(
            Reply::new(200)
                .header("Access-Control-Allow-Origin", "https://whatever.example")
                .header("Access-Control-Allow-Credentials", "true")
                .header("Access-Control-Expose-Headers", "X-Total")
                .header("Vary", "origin")
                .body("{}")
                .into(),
        )
    });
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &["--allowed-cors-origins", "https://*.example.org", "--debug"],
    );

    let r = Req::get(&proxy.url("/data"))
        .header("Origin", "https://app.example.org")
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header_all("access-control-allow-origin"),
        ["https://app.example.org"]
    );
    assert_eq!(r.header_all("access-control-allow-credentials"), ["true"]);
    assert_eq!(r.header("access-control-expose-headers"), Some("X-Total"));
    // The upstream already varies on Origin: not repeated.
    assert_eq!(r.header_all("vary"), ["origin"]);
    // The upstream saw the Origin header untouched.
    assert_eq!(
        upstream.last_request().header("origin"),
        Some("https://app.example.org")
    );

    // A denied origin gets no CORS grant at all, not even the upstream's.
    let r = Req::get(&proxy.url("/data"))
        .header("Origin", "https://evil.example")
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(r.header("access-control-allow-credentials"), None);
    proxy.wait_for_log(|l| l.contains("cors: GET /data: origin https://evil.example denied"));

    // Ory's answers get the same treatment, and Vary: Origin is added beside Ory's Vary.
    let public = format!("http://{}", proxy.public_authority());
    let r = Req::get(&proxy.url("/.ory/cors"))
        .header("Origin", &public)
        .send();
    assert_eq!(
        r.header_all("access-control-allow-origin"),
        [public.as_str()]
    );
    assert_eq!(r.header_all("vary"), ["Accept-Encoding", "Origin"]);

    // The proxy's own answers (JWKS, errors) carry the grant too.
    let r = Req::get(&proxy.url("/.ory/jwks.json"))
        .header("Origin", "https://app.example.org")
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.org")
    );
    let r = Req::get(&proxy.url("/.ory/proxy/nothing"))
        .header("Origin", "https://app.example.org")
        .send();
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.org")
    );
    // Without an Origin header: no grant, but caches are told the answer varies.
    let r = Req::get(&proxy.url("/.ory/cors")).send();
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(r.header_all("vary"), ["Accept-Encoding", "Origin"]);
}

#[test]
fn bad_cors_patterns_are_usage_errors() {
    for pattern in [
        "example.org",
        "https://example.org/app",
        "ftp://x.org",
        "https://a b.example.org",
        "https://a\"b.example.org",
        "https://example.org:+443",
        "https://[zz]",
    ] {
        crate::util::usage::assert_refused(
            &[
                "http://127.0.0.1:1",
                "--sdk-url",
                "http://127.0.0.1:2",
                "--allowed-cors-origins",
                pattern,
            ],
            &[],
            pattern,
        );
    }
}

#[test]
fn a_denied_origin_is_warned_about_once_and_marked_on_access_lines() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let denied = "http://localhost:3000";
    assert_eq!(preflight(&proxy, "/api/items", denied).status, 204);
    for _ in 0..3 {
        let r = Req::get(&proxy.url("/api/items"))
            .header("Origin", denied)
            .send();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("access-control-allow-origin"), None);
    }
    let lines = crate::util::wait_until("four access lines", || {
        let stderr = proxy.stderr();
        let access: Vec<String> = stderr
            .lines()
            .filter(|l| l.contains(" /api/items "))
            .map(str::to_owned)
            .collect();
        (access.len() >= 4).then_some(access)
    });
    for line in &lines {
        assert!(line.contains(" cors=denied"), "{line}");
    }
    let warning = " WARN CORS: denied origin http://localhost:3000: pages there cannot read \
                   answers from this proxy with credentials; to allow it, add \
                   --allowed-cors-origins http://localhost:3000";
    let stderr = proxy.stderr();
    let warnings = stderr.lines().filter(|l| l.ends_with(warning)).count();
    assert_eq!(
        warnings, 1,
        "one warning for four denied requests:\n{stderr}"
    );
    // The public origin is never denied.
    let public = format!("http://{}", proxy.public_authority());
    Req::get(&proxy.url("/ok")).header("Origin", &public).send();
    let line = proxy.wait_for_log(|l| l.contains(" /ok "));
    assert!(!line.contains("cors="), "{line}");
}

/// Only well-formed serialized origins (`scheme://host[:port]`) can be allowed: lookalikes of an
/// allowed origin with a line separator, a quote, a signed port, a slash or user info match no
/// pattern (they were echoed into `Access-Control-Allow-Origin` before), and the warning about
/// them shows them escaped. Well-formed ones still pass, through curl.
#[test]
fn only_well_formed_origins_are_allowed() {
    use crate::util::client::{raw_exchange, RawResponse};
    let s = Stack::start(&[
        "--allowed-cors-origins",
        "https://app.example.org,https://*.preview.example.net",
    ]);
    let proxy = &s.proxy;
    let Some(_) = crate::util::external::curl() else {
        return;
    };
    for origin in [
        "https://app.example.org",
        "https://pr-7.preview.example.net",
    ] {
        let mut curl = crate::util::external::curl().unwrap();
        curl.args(["-s", "-D", "-", "-o", "/dev/null", "-H"])
            .arg(format!("Origin: {origin}"))
            .arg(proxy.url("/api"));
        let head = crate::util::external::run_ok(curl, std::time::Duration::from_secs(30));
        let expected = format!("access-control-allow-origin: {origin}\r\n");
        assert!(
            head.to_ascii_lowercase().contains(&expected),
            "{origin}: {head}"
        );
    }
    for origin in [
        "https://app.example.org\u{2028}",
        "https://app.example.org\u{202e}",
        "https://app.example.org:+443",
        "https://app.example.org/",
        "https://x@app.example.org",
        "https://a\"b.preview.example.net",
        "https://a b.preview.example.net",
        "https://a\u{200b}.preview.example.net",
    ] {
        let req = format!(
            "GET /api HTTP/1.1\r\nHost: a\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n"
        );
        let r = RawResponse::parse(&raw_exchange(proxy.addr, req.as_bytes()));
        assert_eq!(r.status, 200, "{origin:?}");
        let acao = r
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("access-control-allow-origin"));
        assert_eq!(acao, None, "{origin:?}");
    }
    let warning =
        proxy.wait_for_log(|l| l.contains(r"denied origin 'https://app.example.org\u{2028}'"));
    assert!(
        warning.contains("not a well-formed http(s) origin"),
        "{warning}"
    );
    proxy.wait_for_log(|l| l.contains(r"denied origin 'https://a\u{200b}.preview.example.net'"));
    let stderr = proxy.stderr();
    assert!(
        !stderr.contains(['\u{2028}', '\u{202e}', '\u{200b}']),
        "{stderr}"
    );
}
