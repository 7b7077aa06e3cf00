//! Key rotation on a running proxy: SIGHUP (or `--jwks-reload-interval`) reads `--jwks-file`
//! again. The three documented steps on one process, each checked against the JWKS the proxy
//! serves at that moment; a broken file changes nothing.

use crate::util::files::TempDir;
use crate::util::usage::assert_refused;
use crate::util::{jwt, proxy::bearer_of, run_cli, FakeOry, ProxyProcess, Req, Upstream};
use serde_json::{json, Value};
use std::path::Path;

/// The single key of a fresh private JWKS from `ory-proxy --generate-jwks`.
fn new_key() -> Value {
    let out = run_cli(&["--generate-jwks"], &[]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    let set: Value = serde_json::from_str(&out.stdout).expect("JWKS");
    set["keys"][0].clone()
}

fn kid(key: &Value) -> &str {
    key["kid"].as_str().expect("kid")
}

fn write_keys(dir: &TempDir, keys: &[&Value]) -> std::path::PathBuf {
    dir.write("keys.json", json!({ "keys": keys }).to_string())
}

fn hangup(proxy: &ProxyProcess) {
    // The shell's builtin `kill`: a fresh Debian machine may lack procps' /bin/kill.
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("kill -HUP {}", proxy.pid())])
        .status()
        .expect("run sh -c kill");
    assert!(status.success());
}

/// The token the upstream received for a request with `cookie`.
fn token(proxy: &ProxyProcess, upstream: &Upstream, cookie: &str) -> String {
    let r = Req::get(&proxy.url("/")).header("Cookie", cookie).send();
    assert_eq!(r.status, 200, "{}", r.text());
    bearer_of(&upstream.last_request()).expect("a token reached the upstream")
}

fn start(upstream: &Upstream, ory: &FakeOry, file: &Path, extra: &[&str]) -> ProxyProcess {
    let mut args = vec![
        "--jwks-file",
        file.to_str().expect("utf-8 path"),
        // Long enough that a token is reused across the steps and the cache entry survives:
        // the test must see that a reload, not an expiry, ends the reuse.
        "--jwt-ttl",
        "600s",
        "--session-cache-ttl",
        "600s",
    ];
    args.extend_from_slice(extra);
    ProxyProcess::start(&upstream.url(), &ory.url(), &args)
}

#[test]
fn three_step_rotation_on_one_running_process() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let dir = TempDir::new("reload");
    let (old, new) = (new_key(), new_key());
    let file = write_keys(&dir, &[&old]);
    let mut proxy = start(&upstream, &ory, &file, &[]);
    let cookie = ory.create_session("rotate@example.org").cookie();
    let shown = file.display().to_string();

    let first = token(&proxy, &upstream, &cookie);
    assert_eq!(jwt::verify(&proxy, &first).header["kid"], kid(&old));

    // 1. Publish: the new key second. Both published, the old one still signs, and the token
    //    already handed out is still the one handed out (reused) and still verifies.
    write_keys(&dir, &[&old, &new]);
    hangup(&proxy);
    proxy.wait_for_log(|l| {
        l.contains(&format!(
            "keys reloaded from '{shown}': signing with key '{}'; published: {}, {}",
            kid(&old),
            kid(&old),
            kid(&new)
        ))
    });
    assert_eq!(jwt::published_kids(&proxy), [kid(&old), kid(&new)]);
    assert_eq!(
        token(&proxy, &upstream, &cookie),
        first,
        "reused under the same key"
    );
    jwt::verify(&proxy, &first);

    // 2. Switch: the new key first. It signs from now on (the remembered token, signed by the
    //    old key, is not handed out again); the old token still verifies.
    write_keys(&dir, &[&new, &old]);
    hangup(&proxy);
    proxy.wait_for_log(|l| {
        l.contains(&format!(
            "signing with key '{}'; published: {}, {}",
            kid(&new),
            kid(&new),
            kid(&old)
        ))
    });
    assert_eq!(jwt::published_kids(&proxy), [kid(&new), kid(&old)]);
    let second = token(&proxy, &upstream, &cookie);
    assert_ne!(second, first);
    assert_eq!(jwt::verify(&proxy, &second).header["kid"], kid(&new));
    assert_eq!(jwt::verify(&proxy, &first).header["kid"], kid(&old));

    // 3. Retire: only the new key. The old one is no longer published; tokens keep coming from
    //    the new key (the one minted in step 2 is reused).
    write_keys(&dir, &[&new]);
    hangup(&proxy);
    proxy.wait_for_log(|l| {
        l.ends_with(&format!(
            "signing with key '{}'; published: {}",
            kid(&new),
            kid(&new)
        ))
    });
    assert_eq!(jwt::published_kids(&proxy), [kid(&new)]);
    assert_eq!(token(&proxy, &upstream, &cookie), second);
    jwt::verify(&proxy, &second);
    assert!(proxy.is_running());
    assert!(!proxy.stderr().contains(new["d"].as_str().unwrap()));
}

#[test]
fn a_broken_file_on_sighup_changes_nothing() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let dir = TempDir::new("reload-broken");
    let key = new_key();
    let file = write_keys(&dir, &[&key]);
    let mut proxy = start(&upstream, &ory, &file, &[]);
    let cookie = ory.create_session("broken@example.org").cookie();
    let before = jwt::fetch_jwks(&proxy);
    let issued = token(&proxy, &upstream, &cookie);
    let shown = file.display().to_string();

    dir.write("keys.json", "{\"keys\": [");
    hangup(&proxy);
    let line = proxy.wait_for_log(|l| l.contains("key reload failed"));
    assert!(
        line.contains(&format!(
            "ERROR key reload failed, keeping the old keys: key file '{shown}': not valid JSON"
        )),
        "{line}"
    );
    std::fs::remove_file(&file).unwrap();
    hangup(&proxy);
    proxy.wait_for_log(|l| l.contains("key reload failed") && l.contains("No such file"));

    assert!(proxy.is_running());
    assert_eq!(jwt::fetch_jwks(&proxy), before);
    assert_eq!(token(&proxy, &upstream, &cookie), issued);
    jwt::verify(&proxy, &issued);
    let failures = proxy
        .stderr()
        .lines()
        .filter(|l| l.contains("key reload failed"))
        .count();
    assert_eq!(
        failures,
        2,
        "one line per failed reload:\n{}",
        proxy.stderr()
    );
}

#[test]
fn reload_interval_picks_up_a_changed_file_without_a_signal() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let dir = TempDir::new("reload-poll");
    let (old, new) = (new_key(), new_key());
    let file = write_keys(&dir, &[&old]);
    let proxy = start(&upstream, &ory, &file, &["--jwks-reload-interval", "1s"]);
    assert_eq!(jwt::published_kids(&proxy), [kid(&old)]);

    write_keys(&dir, &[&new, &old]);
    proxy.wait_for_log(|l| l.contains(&format!("signing with key '{}'", kid(&new))));
    assert_eq!(jwt::published_kids(&proxy), [kid(&new), kid(&old)]);
    let cookie = ory.create_session("poll@example.org").cookie();
    let t = token(&proxy, &upstream, &cookie);
    assert_eq!(jwt::verify(&proxy, &t).header["kid"], kid(&new));
}

#[test]
fn sighup_without_a_key_file_keeps_the_drawn_key() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let mut proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let before = jwt::published_kids(&proxy);
    hangup(&proxy);
    proxy.wait_for_log(|l| l.contains("INFO no --jwks-file to reload"));
    assert!(proxy.is_running());
    assert_eq!(jwt::published_kids(&proxy), before);
}

#[test]
fn reload_interval_without_a_key_file_is_a_usage_error() {
    assert_refused(
        &[
            "http://127.0.0.1:1",
            "--sdk-url",
            "http://127.0.0.1:2",
            "--jwks-reload-interval",
            "5s",
        ],
        &[],
        "--jwks-reload-interval needs --jwks-file",
    );
}
