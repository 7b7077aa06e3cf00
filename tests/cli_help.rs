//! The Go command's habits and a newcomer's slips (issue 17): `ory-proxy help [tunnel]`,
//! `ory-proxy tunnel --help` as the tunnel's own help, exit codes in `--help`, a project URL
//! given to `--project`, a `--require-session` prefix without its `/`. Exact wording.

use crate::util::{run_cli, ProxyProcess, Upstream};

#[test]
fn help_words_print_the_help() {
    let long = run_cli(&["--help"], &[]);
    assert_eq!(long.code, Some(0));
    assert!(
        long.stdout.contains(
            "\nEXIT CODES:\n    0    a clean shutdown (SIGTERM, SIGINT), or help or version printed\n    \
             1    start-up failed at run time: port in use, an unreadable key file, … (the OS \
             error said)\n    2    a usage error: one line naming the culprit\n"
        ),
        "{}",
        long.stdout
    );
    let help = run_cli(&["help"], &[]);
    assert_eq!((help.code, &help.stdout), (Some(0), &long.stdout));
    let tunnel = run_cli(&["tunnel", "--help"], &[]);
    assert_eq!(tunnel.code, Some(0));
    assert!(
        tunnel.stdout.starts_with(
            "ory-proxy tunnel: Ory on a port of its own, beside a single-page app that calls it \
             from the\nbrowser"
        ),
        "{}",
        tunnel.stdout
    );
    assert!(
        tunnel.stdout.contains("\nEXIT CODES:\n"),
        "{}",
        tunnel.stdout
    );
    assert_ne!(tunnel.stdout, long.stdout);
    for args in [
        &["tunnel", "-h"][..],
        &["help", "tunnel"],
        &["tunnel", "http://localhost:3000", "-h"],
    ] {
        let out = run_cli(args, &[]);
        assert_eq!(
            (out.code, &out.stdout),
            (Some(0), &tunnel.stdout),
            "{args:?}"
        );
    }
}

#[test]
fn a_project_url_is_taken_for_its_slug_with_a_note() {
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start_args(
        &[
            &upstream.url(),
            "--project",
            "https://acme.projects.oryapis.com/",
        ],
        &[],
    );
    let line = proxy.wait_for_log(|l| l.starts_with("  Ory "));
    assert!(
        line.contains("https://acme.projects.oryapis.com ")
            && line.ends_with("(from --project acme; browsers use /.ory)"),
        "{line}"
    );
    proxy.wait_for_log(|l| {
        l == "  note: --project takes the project's slug: used 'acme' from \
              https://acme.projects.oryapis.com/"
    });
    let out = run_cli(
        &[
            "http://localhost:3000",
            "--project",
            "https://auth.example.org",
        ],
        &[],
    );
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr.trim_end(),
        "ory-proxy: --project 'https://auth.example.org' is a URL, not a project slug: pass a \
         URL as --sdk-url https://auth.example.org (see 'ory-proxy --help')"
    );
}

#[test]
fn a_protected_prefix_without_its_slash_gets_did_you_mean() {
    let out = run_cli(
        &[
            "http://localhost:3000",
            "--sdk-url",
            "http://127.0.0.1:4433",
            "--require-session",
            "admin",
        ],
        &[],
    );
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr.trim_end(),
        "ory-proxy: --require-session 'admin' must be a path starting with '/', without a \
         query, outside /.ory/ (never protected); did you mean '/admin'? (see 'ory-proxy --help')"
    );
}
