//! The command line: exit codes and messages of every usage error, start-up failures, help and
//! version (SPEC §1).

use crate::util::{run_cli, FakeOry, ProxyProcess, Req, Upstream};
use std::net::TcpListener;

const SDK: &str = "http://127.0.0.1:4433";

/// Asserts a usage error: exit 2, one stderr line naming every `needle`, a hint to `--help`.
fn assert_usage_error(args: &[&str], env: &[(&str, &str)], needles: &[&str]) {
    let out = run_cli(args, env);
    assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
    let stderr = out.stderr.trim_end();
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: one line, got {stderr:?}"
    );
    for n in needles {
        assert!(
            stderr.contains(n),
            "{args:?}: {stderr:?} should mention {n:?}"
        );
    }
    assert!(stderr.contains("--help"), "{args:?}: no hint: {stderr:?}");
    assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
}

#[test]
fn missing_upstream() {
    assert_usage_error(&["--sdk-url", SDK], &[], &["<upstream>"]);
    assert_usage_error(&[], &[], &["<upstream>"]);
}

#[test]
fn bad_upstream_urls_are_named() {
    for (url, what) in [
        ("ftp://localhost:3000", "http or https"),
        ("localhost:3000", "localhost:3000"),
        ("http://localhost:3000/app", "must not contain a path"),
        ("http://localhost:3000/?a=b", "query"),
        ("http://localhost:3000/#top", "fragment"),
        ("http://", "http://"),
        ("not a url", "not a url"),
    ] {
        assert_usage_error(&[url, "--sdk-url", SDK], &[], &[url, what]);
    }
}

#[test]
fn public_url_with_a_path_is_refused() {
    assert_usage_error(
        &[
            "http://localhost:3000",
            "https://example.org/app",
            "--sdk-url",
            SDK,
        ],
        &[],
        &[
            "public URL must not contain a path",
            "https://example.org/app",
        ],
    );
    assert_usage_error(
        &[
            "http://localhost:3000",
            "mailto:x@example.org",
            "--sdk-url",
            SDK,
        ],
        &[],
        &["mailto:x@example.org"],
    );
}

#[test]
fn bad_sdk_url_is_named() {
    assert_usage_error(
        &["http://localhost:3000", "--sdk-url", "ftp://ory.example"],
        &[],
        &["ftp://ory.example"],
    );
}

#[test]
fn no_sdk_url_names_flag_and_variable() {
    assert_usage_error(
        &["http://localhost:3000"],
        &[],
        &["--sdk-url", "ORY_SDK_URL"],
    );
    // An empty variable counts as unset.
    assert_usage_error(
        &["http://localhost:3000"],
        &[("ORY_SDK_URL", "")],
        &["--sdk-url", "ORY_SDK_URL"],
    );
}

#[test]
fn sdk_url_from_the_environment() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start_args(&[&upstream.url()], &[("ORY_SDK_URL", &ory.url())]);
    let session = ory.create_session("env@example.org");
    let r = Req::get(&proxy.url("/"))
        .header("X-Session-Token", &session.token)
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(ory.whoami_calls(), 1, "the lookup went to ORY_SDK_URL");
}

#[test]
fn bad_port_and_workers() {
    for port in ["abc", "70000", "-1"] {
        assert_usage_error(
            &["http://localhost:3000", "--sdk-url", SDK, "--port", port],
            &[],
            &["--port", port],
        );
    }
    assert_usage_error(
        &["http://localhost:3000", "--sdk-url", SDK],
        &[("PORT", "eighty")],
        &["PORT", "eighty"],
    );
    assert_usage_error(
        &[
            "http://localhost:3000",
            "--sdk-url",
            SDK,
            "--bind",
            "localhost",
        ],
        &[],
        &["--bind", "localhost"],
    );
}

#[test]
fn unknown_flag_and_extra_argument() {
    assert_usage_error(
        &["http://localhost:3000", "--sdk-url", SDK, "--frobnicate"],
        &[],
        &["--frobnicate"],
    );
    assert_usage_error(
        &[
            "http://localhost:3000",
            "http://localhost:4000",
            "third",
            "--sdk-url",
            SDK,
        ],
        &[],
        &["third"],
    );
    assert_usage_error(&["http://localhost:3000", "--sdk-url"], &[], &["--sdk-url"]);
}

#[test]
fn port_in_use_exits_1_with_the_os_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run_cli(
        &[
            "http://localhost:3000",
            "--sdk-url",
            SDK,
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
        ],
        &[],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("Address already in use") && out.stderr.contains(&port),
        "{:?}",
        out.stderr
    );
    assert!(!out.stderr.contains("listening on"), "{:?}", out.stderr);
}

#[test]
fn help_documents_every_flag_with_default_and_variable() {
    for flag in ["--help", "-h"] {
        let out = run_cli(&[flag], &[]);
        assert_eq!(out.code, Some(0), "{out:?}");
        let help = &out.stdout;
        for needle in [
            "<upstream>",
            "<public-url>",
            "--sdk-url",
            "ORY_SDK_URL",
            "--port",
            "PORT",
            "4000",
            "--cookie-domain",
            "--no-jwt",
            "--open",
            "--default-redirect-url",
            "--allowed-cors-origins",
            "--additional-cors-headers",
            "--rewrite-host",
            "--debug",
            "--quiet",
            "--version",
            "ORY_PROJECT_API_KEY",
        ] {
            assert!(help.contains(needle), "--help lacks {needle}");
        }
        // Every flag line documents its default.
        assert!(help.matches("[default:").count() >= 10, "{help}");
    }
}

#[test]
fn version() {
    for flag in ["--version", "-V"] {
        let out = run_cli(&[flag], &[]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_eq!(
            out.stdout.trim(),
            format!("ory-proxy {}", env!("CARGO_PKG_VERSION"))
        );
    }
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
