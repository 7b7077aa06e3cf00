//! The process around the requests: a client that goes away mid-stream frees its worker, and
//! `--open` failing is one line, not a crash.

use crate::util::client::get;
use crate::util::{FakeOry, ProxyProcess, Reply, Upstream};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn client_leaving_mid_stream_frees_the_worker() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    // A 60-second stream: if the worker waited for its end, the next request would too.
    let pieces = vec![vec![b'.'; 1024]; 1200];
    upstream.set_hook(move |r| {
        (r.path() == "/stream").then(|| {
            Reply::new(200)
                .chunked(pieces.clone(), Duration::from_millis(50))
                .into()
        })
    });
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);

    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.write_all(b"GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = [0u8; 4096];
    let mut got = 0;
    while got < 3000 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended early");
        got += n;
    }
    drop(s);

    let started = Instant::now();
    let r = get(&proxy.url("/quick"), &[]);
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "a stream nobody reads held up another request ({:?})",
        started.elapsed()
    );
}

#[test]
fn open_failing_is_one_line_and_the_proxy_keeps_running() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let args = [
        upstream.url(),
        "--sdk-url".into(),
        ory.url(),
        "--open".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // No PATH: no browser opener can be found.
    let mut proxy = ProxyProcess::start_args(&args, &[("PATH", "")]);
    proxy.wait_for_log(|l| l.contains("browser"));
    assert_eq!(get(&proxy.url("/"), &[]).status, 200);
    assert!(proxy.is_running());
}

#[test]
fn client_leaving_mid_upload_is_400_and_never_complete_upstream() {
    // A client declares 5000 bytes, sends 1500 and closes. The body ends before the declared
    // length: an error, never a complete body; the proxy answers, logs, and serves the next
    // request.
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")
        .unwrap();
    s.write_all(&[b'x'; 1500]).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.read_to_end(&mut answer);
    drop(s);
    proxy.wait_for_log(|l| l.contains("POST /upload") && l.contains(" 400 "));
    let r = get(&proxy.url("/quick"), &[]);
    assert_eq!(r.status, 200);
    assert!(
        upstream.requests().iter().all(|r| r.path() != "/upload"),
        "a cut upload reached the upstream as complete"
    );
}
