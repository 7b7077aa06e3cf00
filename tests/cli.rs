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
fn bad_port_and_bind_and_removed_flags() {
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
            "nowhere",
        ],
        &[],
        &["--bind", "nowhere"],
    );
    for flag in ["--workers", "--max-queue"] {
        assert_usage_error(
            &["http://localhost:3000", "--sdk-url", SDK, flag, "8"],
            &[],
            &[flag, "was removed", "--max-connections"],
        );
    }
    assert_usage_error(
        &["http://localhost:3000", "--sdk-url", SDK],
        &[("ORY_PROXY_WORKERS", "8")],
        &["ORY_PROXY_WORKERS", "was removed", "--max-connections"],
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
    // The way out: who holds the port (this test process) and another --port.
    let next = taken.local_addr().unwrap().port() + 1;
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    assert!(
        out.stderr.contains(&format!(
            "Address already in use (os error 98) — port {port} is taken by {} (pid {}): stop \
             it, or choose another port with --port {next} (--port 0 picks a free one)",
            comm.trim(),
            std::process::id()
        )),
        "{:?}",
        out.stderr
    );
}

#[test]
fn help_documents_every_flag_with_default_and_variable() {
    {
        let out = run_cli(&["--help"], &[]);
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
        for group in [
            "\nESSENTIALS:\n",
            "\nCOOKIES AND CORS:\n",
            "\nTOKENS AND KEYS:\n",
            "\nLIMITS AND TIMEOUTS:\n",
            "\nOUTPUT:\n",
            "\nEXAMPLES:\n",
        ] {
            assert!(help.contains(group), "--help lacks {group:?}");
        }
    }
}

#[test]
fn short_help_is_a_summary() {
    let out = run_cli(&["-h"], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines = out.stdout.lines().count();
    assert!(lines <= 25, "-h has {lines} lines:\n{}", out.stdout);
    for needle in ["<upstream>", "--sdk-url", "--project", "ory-proxy --help"] {
        assert!(out.stdout.contains(needle), "-h lacks {needle}");
    }
}

#[test]
fn a_near_miss_flag_gets_a_suggestion() {
    let out = run_cli(&["http://localhost:3000", "--sdk", SDK], &[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(
        out.stderr.trim_end(),
        "ory-proxy: unknown option '--sdk'; did you mean '--sdk-url'? (see 'ory-proxy --help')"
    );
    assert_usage_error(
        &[
            "http://localhost:3000",
            "--sdk-url",
            SDK,
            "--cookie-domian",
            "x",
        ],
        &[],
        &["unknown option '--cookie-domian'; did you mean '--cookie-domain'?"],
    );
}

#[test]
fn an_upstream_without_scheme_gets_a_suggestion() {
    assert_usage_error(
        &["localhost:3000", "--sdk-url", SDK],
        &[],
        &["did you mean 'http://localhost:3000'?"],
    );
    assert_usage_error(
        &[
            "http://localhost:3000",
            "--sdk-url",
            "acme.projects.oryapis.com",
        ],
        &[],
        &["did you mean 'https://acme.projects.oryapis.com'?"],
    );
}

#[test]
fn project_slug_names_ory_network() {
    let upstream = Upstream::start();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 3] = [
        (&["--project", "acme"], &[], "(from --project acme;"),
        (&[], &[("ORY_PROJECT", "acme")], "(from ORY_PROJECT=acme;"),
        (
            &[],
            &[("ORY_PROJECT_SLUG", "acme")],
            "(from ORY_PROJECT_SLUG=acme;",
        ),
    ];
    for (args, env, source) in cases {
        let mut all = vec![upstream.url()];
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let proxy = ProxyProcess::start_args(&all, env);
        let line = proxy.wait_for_log(|l| l.starts_with("  Ory "));
        assert!(
            line.contains("https://acme.projects.oryapis.com") && line.contains(source),
            "{args:?} {env:?}: {line}"
        );
    }
    assert_usage_error(
        &["http://localhost:3000", "--project", "acme.example"],
        &[],
        &["--project 'acme.example' is not a project slug"],
    );
}

#[test]
fn an_sdk_url_wins_over_a_project_and_kratos_url_is_read() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start_args(
        &[&upstream.url(), "--project", "acme"],
        &[("ORY_KRATOS_URL", &ory.url())],
    );
    let line = proxy.wait_for_log(|l| l.starts_with("  Ory "));
    assert!(
        line.contains(&ory.url()) && line.contains("(from ORY_KRATOS_URL;"),
        "{line}"
    );
    proxy.wait_for_log(|l| l == "  note: --project acme is ignored: ORY_KRATOS_URL names Ory");
    let session = ory.create_session("kratos@example.org");
    let r = Req::get(&proxy.url("/"))
        .header("X-Session-Token", &session.token)
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(ory.whoami_calls(), 1, "the lookup went to ORY_KRATOS_URL");
}

#[test]
fn go_flags_without_effect_are_noted() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--dev", "--yes"]);
    proxy.wait_for_log(|l| {
        l == "  note: --dev has no effect here (cookies follow the public URL's scheme \
               already); accepted for the Go command's sake"
    });
    proxy.wait_for_log(|l| {
        l == "  note: --yes has no effect here (it asks no questions); accepted for the Go \
               command's sake"
    });
}

#[test]
fn version() {
    for flag in ["--version", "-V", "version"] {
        let out = run_cli(&[flag], &[]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_eq!(
            out.stdout.trim(),
            format!("ory-proxy {}", env!("CARGO_PKG_VERSION"))
        );
    }
}
