//! curl and Python `requests` through the proxy: a chunked upload from stdin arrives whole, an
//! HTTP/1.0 GET and a HEAD are answered as those clients expect, a download read with
//! `--limit-rate` above `--min-data-rate` completes while one below it is reset, and a `requests`
//! session does a GET twice and a POST with a body.

use crate::util::external;
use crate::util::raw::{fill_pattern, is_pattern};
use crate::util::{FakeOry, ProxyProcess, Reply, Upstream};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn start(extra: &[&str]) -> (FakeOry, Upstream, ProxyProcess) {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let mut args = vec!["--no-jwt"];
    args.extend_from_slice(extra);
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &args);
    (ory, upstream, proxy)
}

/// curl with `args`, silent but showing errors; `None` when curl is missing (skipped).
fn curl(args: &[&str]) -> Option<Command> {
    let mut cmd = external::curl()?;
    cmd.args(["-sS", "--max-time", "60"]).args(args);
    Some(cmd)
}

#[test]
fn curl_uploads_chunked_from_stdin_and_the_body_arrives_whole() {
    let (_ory, upstream, proxy) = start(&[]);
    let Some(mut cmd) = curl(&[
        "-T",
        "-",
        "-H",
        "Transfer-Encoding: chunked",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &proxy.url("/upload"),
    ]) else {
        return;
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl");
    let mut body = vec![0u8; 3 << 20];
    fill_pattern(&mut body, 0);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // In pieces, as a pipe delivers them.
        for piece in body.chunks(100_000) {
            stdin.write_all(piece).unwrap();
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    let seen = upstream.last_request();
    assert_eq!(seen.method, "PUT");
    assert!(seen.chunked, "forwarded with a length instead of chunked");
    assert_eq!(seen.body.len(), 3 << 20);
    assert!(is_pattern(&seen.body, 0));
}

#[test]
fn curl_http10_get_and_head() {
    let (_ory, _upstream, proxy) = start(&[]);
    let Some(cmd) = curl(&["--http1.0", "-i", &proxy.url("/ten")]) else {
        return;
    };
    let out = external::run_ok(cmd, Duration::from_secs(30));
    let (head, body) = out.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    // No keep-alive asked: the answer has a length and closes.
    assert!(head.contains("Connection: close"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding"),
        "{head}"
    );
    let echoed: serde_json::Value = serde_json::from_str(body).expect("echo");
    assert_eq!(echoed["method"], "GET");
    assert_eq!(echoed["target"], "/ten");

    let Some(cmd) = curl(&["-I", &proxy.url("/head")]) else {
        return;
    };
    let out = external::run_ok(cmd, Duration::from_secs(30));
    assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
    let length = out
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("HEAD keeps the length of the GET");
    assert_ne!(length.trim(), "0", "{out}");
}

/// Downloads a 32 MiB answer with `--limit-rate rate`; returns curl's exit code and the bytes
/// it got.
fn limited_download(proxy: &ProxyProcess, rate: &str) -> Option<(i32, u64)> {
    let cmd = curl(&[
        "--limit-rate",
        rate,
        "-o",
        "/dev/null",
        "-w",
        "%{size_download}",
        &proxy.url("/big"),
    ])?;
    let out = external::run(cmd, Duration::from_secs(90));
    let got = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    Some((out.status.code().unwrap_or(-1), got))
}

#[test]
fn curl_reading_above_the_rate_completes_and_below_it_is_reset() {
    // 4 MB/s: the socket buffers (several MiB on loopback) pay for only a few seconds, so the
    // slow reader is cut soon after the grace. At 1 MB/s it would have the whole answer in
    // about 32 s, well within curl's --max-time 60: a cut is the proxy's doing.
    let (_ory, upstream, proxy) = start(&["--min-data-rate", "4000000"]);
    upstream.always(Reply::new(200).body(vec![b'x'; 32 << 20]));
    let (fast, slow) = std::thread::scope(|scope| {
        let slow = scope.spawn(|| limited_download(&proxy, "1M"));
        (limited_download(&proxy, "16M"), slow.join().unwrap())
    });
    let (Some(fast), Some(slow)) = (fast, slow) else {
        return;
    };
    assert_eq!(fast, (0, 32 << 20), "16 MB/s against 4 MB/s");
    // 56: "Recv failure: Connection reset by peer" (the proxy drops what it still had queued).
    assert_eq!(slow.0, 56, "1 MB/s against 4 MB/s: {slow:?}");
    assert!(slow.1 < 32 << 20, "{slow:?}");
    let log = proxy.wait_for_log(|l| l.contains("read the answer slower than --min-data-rate"));
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("--min-data-rate"))
            .count(),
        1,
        "{log}"
    );
}

#[test]
fn python_requests_session_get_and_post() {
    let (_ory, upstream, proxy) = start(&[]);
    let Some(mut cmd) = external::python() else {
        return;
    };
    cmd.args([
        "-c",
        r#"
import json, sys, requests
base = sys.argv[1]
with requests.Session() as s:
    first = s.get(base + "/one", headers={"X-N": "1"})
    second = s.get(base + "/two")
    posted = s.post(base + "/form", data=b"name=value&x=1",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
print(json.dumps([first.status_code, first.json()["target"], second.json()["target"],
                  posted.status_code, posted.json()["body"]]))
"#,
        &proxy.url(""),
    ]);
    let out = external::run_ok(cmd, Duration::from_secs(30));
    let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        got,
        serde_json::json!([200, "/one", "/two", 200, "name=value&x=1"])
    );
    assert_eq!(upstream.request_count(), 3);
    assert_eq!(upstream.last_request().method, "POST");
}
