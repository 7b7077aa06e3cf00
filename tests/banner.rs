//! The banner: version, every listening address, what each URL is, the paths that need a
//! session, a note when the public port is not the listening port, and one JSON object under
//! `--log-format json`.

use crate::util::{FakeOry, ProxyProcess, Stack, Upstream};

#[test]
fn text_banner_labels_every_url() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let public = format!("http://{}", proxy.public_authority());
    proxy.wait_for_log(|l| l == format!("  ory-proxy {}", env!("CARGO_PKG_VERSION")));
    let browse = proxy.wait_for_log(|l| l.starts_with("  browse to "));
    assert!(browse.contains(&public), "{browse}");
    let app = proxy.wait_for_log(|l| l.starts_with("  your app "));
    assert!(app.contains(&upstream.url()), "{app}");
    let line = proxy.wait_for_log(|l| l.starts_with("  Ory "));
    assert!(
        line.contains(&ory.url()) && line.contains("(from --sdk-url;"),
        "{line}"
    );
    let keys = proxy.wait_for_log(|l| l.starts_with("  keys (JWKS) "));
    assert!(keys.contains(&format!("{public}/.ory/jwks.json")), "{keys}");
    assert!(
        !proxy.stderr().contains("note: browsers come in"),
        "{}",
        proxy.stderr()
    );
}

#[test]
fn a_public_port_other_than_the_listening_port_is_noted() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["https://app.example.org"]);
    let port = proxy.addr.port();
    proxy.wait_for_log(|l| {
        l == format!(
            "  note: browsers come in on port 443 (the public URL), the proxy listens on {port}: \
             a load balancer, tunnel or port mapping must forward 443 to {port}"
        )
    });
}

#[test]
fn json_banner_is_one_object_with_fields() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--log-format", "json"]);
    let first = proxy.wait_for_log(|l| l.contains("ory-proxy listening on"));
    let v: serde_json::Value = serde_json::from_str(&first).expect("one JSON object");
    let public = format!("http://{}", proxy.public_authority());
    assert_eq!(v["msg"], format!("ory-proxy listening on {}", proxy.addr));
    assert_eq!(v["listen"], proxy.addr.to_string());
    assert_eq!(v["public"], public);
    assert_eq!(v["upstream"], upstream.url());
    assert_eq!(v["ory"], ory.url());
    assert_eq!(v["jwks"], format!("{public}/.ory/jwks.json"));
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    // Nothing of the text layout leaks into JSON lines.
    let stderr = proxy.stderr();
    assert!(!stderr.contains("browse to"), "{stderr}");
}

#[test]
fn every_listening_address_and_the_protected_paths_are_listed() {
    let s = Stack::start(&[
        "--bind",
        "localhost",
        "--require-session",
        "/admin",
        "--require-session",
        "/Account/",
    ]);
    let proxy = &s.proxy;
    let port = proxy.addr.port();
    assert_eq!(proxy.addr.to_string(), format!("127.0.0.1:{port}"));
    // [::1] where the machine has IPv6 loopback: the banner says what was really bound.
    let v6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    let listed = if v6 {
        format!("127.0.0.1:{port}, [::1]:{port}")
    } else {
        format!("127.0.0.1:{port}")
    };
    if v6 {
        let row = proxy.wait_for_log(|l| l.starts_with("  listening "));
        assert!(
            row.starts_with(&format!("  listening    {listed} "))
                && row.ends_with("  (--bind localhost)"),
            "{row}"
        );
        assert!(crate::util::client::get(&format!("http://[::1]:{port}/"), &[]).status == 200);
    }
    let row = proxy.wait_for_log(|l| l.starts_with("  need sign-in "));
    assert!(
        row.starts_with("  need sign-in /admin, /account ")
            && row
                .ends_with("  (--require-session: browsers go to the login flow, others get 401)"),
        "{row}"
    );
}

#[test]
fn a_tunnel_banner_names_the_application() {
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start_args(
        &["tunnel", "http://localhost:3000", "--sdk-url", &ory.url()],
        &[],
    );
    let row = proxy.wait_for_log(|l| l.starts_with("  your app "));
    assert!(
        row.starts_with("  your app     http://localhost:3000 ")
            && row.ends_with("(may call the tunnel with credentials; gets the welcome redirect)"),
        "{row}"
    );
}

#[test]
fn banner_names_public_url_and_jwks() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let public = format!("http://{}", proxy.public_authority());
    proxy.wait_for_log(|l| l.contains(&public));
    proxy.wait_for_log(|l| l.contains(&format!("{public}/.ory/jwks.json")));

    let explicit = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &["https://app.example.org:8443"],
    );
    explicit.wait_for_log(|l| l.contains("https://app.example.org:8443/.ory/jwks.json"));
}

#[test]
fn quiet_prints_no_banner_and_no_access_lines() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["-q"]);
    assert_eq!(crate::util::client::get(&proxy.url("/x"), &[]).status, 200);
    // An error still prints; wait for it, then check nothing else did.
    let _ = crate::util::client::get(&proxy.url("/.ory/proxy/nothing"), &[]);
    proxy.wait_for_log(|l| l.contains("ERROR"));
    let stderr = proxy.stderr();
    assert!(!stderr.contains("listening"), "{stderr}");
    assert!(!stderr.contains("GET /x"), "{stderr}");
}
