//! HTTPS on the proxy's own port (`--tls-cert`, `--tls-key`), through clients the project did
//! not write: curl with `--cacert`, Python `requests` with `verify=`, Node's `fetch` with
//! `NODE_EXTRA_CA_CERTS`, and `openssl s_client` for the protocol versions. The certificates are
//! made by `openssl req` as an operator would (docs/operations.md). Hostile clients of the TLS
//! port are in `tls_hostile`, the browser in `browser_tls`.

use crate::util::certs::Cert;
use crate::util::external;
use crate::util::files::TempDir;
use crate::util::server::Reply;
use crate::util::usage::assert_refused;
use crate::util::{proxy::bearer_of, run_cli, FakeOry, ProxyProcess, Upstream};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// The proxy over HTTPS with `cert` (extra flags after).
pub fn start_tls(upstream: &Upstream, ory: &FakeOry, cert: &Cert, extra: &[&str]) -> ProxyProcess {
    let flags = cert.flags();
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    ProxyProcess::start(&upstream.url(), &ory.url(), &args)
}

/// `https://localhost:<port><path>` (the name the certificate is for).
pub fn https(proxy: &ProxyProcess, path: &str) -> String {
    format!("https://{}{path}", proxy.public_authority())
}

#[test]
fn curl_python_and_node_get_through_with_a_token_and_forwarded_proto_https() {
    let dir = TempDir::new("tls-clients");
    let cert = Cert::make(&dir, "proxy", "ec");
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let session = ory.create_session("tls@example.org");
    let proxy = start_tls(&upstream, &ory, &cert, &[]);
    // The banner names the https:// public URL.
    proxy.wait_for_log(|l| l.contains(&https(&proxy, "")));
    let url = https(&proxy, "/hello?via=tls");
    let cookie = session.cookie();

    let mut clients: Vec<(&str, Command)> = Vec::new();
    if let Some(mut curl) = external::curl() {
        curl.args(["-sS", "--fail", "--cacert"])
            .arg(&cert.cert)
            .args(["-H", &format!("Cookie: {cookie}"), &url]);
        clients.push(("curl", curl));
    }
    if let Some(mut py) = external::python() {
        py.arg("-c").arg(
            "import sys, requests\n\
             r = requests.get(sys.argv[1], headers={'Cookie': sys.argv[2]}, verify=sys.argv[3])\n\
             r.raise_for_status()\nprint(r.status_code)",
        );
        py.arg(&url).arg(&cookie).arg(&cert.cert);
        clients.push(("python requests", py));
    }
    if let Some(mut node) = external::node() {
        node.env("NODE_EXTRA_CA_CERTS", &cert.cert).arg("-e").arg(
            "fetch(process.argv[1], {headers: {cookie: process.argv[2]}})\
             .then(r => { if (!r.ok) process.exit(3); console.log(r.status); })\
             .catch(e => { console.error(e); process.exit(4); })",
        );
        node.arg(&url).arg(&cookie);
        clients.push(("node fetch", node));
    }
    for (name, client) in clients {
        upstream.clear_requests();
        external::run_ok(client, LIMIT);
        let seen = upstream.last_request();
        assert_eq!(seen.target, "/hello?via=tls", "{name}");
        assert_eq!(seen.header_all("x-forwarded-proto"), ["https"], "{name}");
        assert!(bearer_of(&seen).is_some(), "{name}: no token upstream");
    }
}

#[test]
fn cookies_stay_secure_and_rsa_and_sec1_keys_load() {
    let dir = TempDir::new("tls-keys");
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    ory.set_hook(|r| {
        (r.path() == "/cookies").then(|| {
            Reply::new(200)
                .header(
                    "Set-Cookie",
                    "ory_kratos_session=abc; Path=/; HttpOnly; Secure",
                )
                .into()
        })
    });
    let Some(_) = external::curl() else { return };
    for format in ["rsa", "sec1"] {
        let cert = Cert::make(&dir, format, format);
        let proxy = start_tls(&upstream, &ory, &cert, &["--no-jwt"]);
        let mut curl = external::curl().expect("curl");
        curl.args(["-sS", "-i", "--fail", "--cacert"])
            .arg(&cert.cert)
            .arg(https(&proxy, "/.ory/cookies"));
        let out = external::run_ok(curl, LIMIT);
        let cookie = out
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
            .unwrap_or_else(|| panic!("{format}: no cookie in\n{out}"));
        assert!(cookie.contains("Secure"), "{format}: {cookie}");
    }
}

#[test]
fn openssl_s_client_sees_tls_1_0_and_1_1_refused_and_1_2_1_3_with_http_1_1() {
    let dir = TempDir::new("tls-versions");
    let cert = Cert::make(&dir, "proxy", "ec");
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let proxy = start_tls(&upstream, &ory, &cert, &["--no-jwt"]);
    let connect = format!(
        "127.0.0.1:{}",
        proxy.public_authority().rsplit(':').next().unwrap()
    );
    let s_client = |version: &str| {
        let mut cmd = Command::new("openssl");
        cmd.args([
            "s_client", "-connect", &connect, version, "-alpn", "http/1.1",
        ]);
        // OpenSSL 3 refuses TLS 1.0/1.1 itself at its default security level: lower it so
        // the ClientHello really offers them and the refusal is the proxy's.
        if version == "-tls1" || version == "-tls1_1" {
            cmd.args(["-cipher", "DEFAULT@SECLEVEL=0"]);
        }
        let out = external::run(cmd, LIMIT);
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    for old in ["-tls1", "-tls1_1"] {
        let out = s_client(old);
        // The proxy's alert (protocol_version 70 or handshake_failure 40), not a local refusal.
        assert!(
            out.contains("SSL alert number 70") || out.contains("SSL alert number 40"),
            "{old} was not refused by the server:\n{out}"
        );
        assert!(!out.contains("ALPN protocol: http/1.1"), "{old}:\n{out}");
    }
    for (flag, name) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let out = s_client(flag);
        assert!(
            out.contains(&format!("Protocol  : {name}")) || out.contains(&format!("New, {name}")),
            "{flag}:\n{out}"
        );
        assert!(out.contains("ALPN protocol: http/1.1"), "{flag}:\n{out}");
    }
}

#[test]
fn one_file_without_the_other_is_a_usage_error_and_a_broken_file_stops_the_start() {
    let dir = TempDir::new("tls-usage");
    let cert = Cert::make(&dir, "proxy", "ec");
    let cert_path = cert.cert.display().to_string();
    let base = ["http://127.0.0.1:1", "--sdk-url", "http://127.0.0.1:2"];
    assert_refused(
        &[&base[..], &["--tls-cert", &cert_path]].concat(),
        &[],
        "--tls-cert needs --tls-key",
    );
    assert_refused(
        &base,
        &[("ORY_PROXY_TLS_KEY", &cert_path)],
        "ORY_PROXY_TLS_KEY needs --tls-cert",
    );
    // The certificate given as its own key: read, and refused with the path and the reason.
    let broken = [
        "--port",
        "0",
        "--tls-cert",
        &cert_path,
        "--tls-key",
        &cert_path,
    ];
    let out = run_cli(&[&base[..], &broken].concat(), &[]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("--tls-key") && out.stderr.contains(&cert_path),
        "{}",
        out.stderr
    );
}

fn hangup(proxy: &ProxyProcess) {
    let status = Command::new("sh")
        .args(["-c", &format!("kill -HUP {}", proxy.pid())])
        .status()
        .expect("sh");
    assert!(status.success());
}

/// Whether curl trusting only `ca` gets an answer from the proxy.
fn trusted_by(proxy: &ProxyProcess, ca: &std::path::Path) -> bool {
    let mut curl = external::curl().expect("curl");
    curl.args(["-sS", "-o", "/dev/null", "--cacert"])
        .arg(ca)
        .arg(https(proxy, "/"));
    external::run(curl, LIMIT).status.success()
}

#[test]
fn sighup_swaps_in_a_good_pair_and_keeps_the_old_one_when_the_new_is_broken() {
    if external::curl().is_none() {
        return;
    }
    let dir = TempDir::new("tls-reload");
    let live = Cert::make(&dir, "live", "ec");
    let old = Cert::make(&dir, "old", "ec");
    std::fs::copy(&old.cert, &live.cert).unwrap();
    std::fs::copy(&old.key, &live.key).unwrap();
    let new = Cert::make(&dir, "new", "ec");
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let proxy = start_tls(&upstream, &ory, &live, &["--no-jwt"]);
    assert!(trusted_by(&proxy, &old.cert) && !trusted_by(&proxy, &new.cert));

    // A new certificate with the old key: not a pair. Nothing changes, one ERROR line.
    std::fs::copy(&new.cert, &live.cert).unwrap();
    hangup(&proxy);
    let line = proxy.wait_for_log(|l| l.contains("TLS certificate reload failed"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains(&live.cert.display().to_string()), "{line}");
    assert!(trusted_by(&proxy, &old.cert) && !trusted_by(&proxy, &new.cert));
    let errors = proxy
        .stderr()
        .lines()
        .filter(|l| l.contains("ERROR"))
        .count();
    assert_eq!(errors, 1, "{}", proxy.stderr());

    // The matching key too: the new certificate is served to new connections.
    std::fs::copy(&new.key, &live.key).unwrap();
    hangup(&proxy);
    proxy.wait_for_log(|l| l.contains("TLS certificate reloaded"));
    assert!(trusted_by(&proxy, &new.cert) && !trusted_by(&proxy, &old.cert));
}
