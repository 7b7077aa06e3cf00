//! `--min-data-rate`: request bodies and answers must move at a least rate after a 5 s grace.
//! Hostile raw-socket clients: a trickled upload gets 408 and a close, a slow reader is cut, a
//! below-rate upload gives way at `--max-connections`, and 0 turns the rule off. Each of these
//! waits out the fixed grace, so they take 5–10 s (they run in parallel with the rest).

use crate::util::client::read_until_close;
use crate::util::conn::Conn;
use crate::util::raw::{open_fds, proc_status, read_head};
use crate::util::{FakeOry, ProxyProcess, Reply, Req, Upstream};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn start(extra: &[&str]) -> (FakeOry, Upstream, ProxyProcess) {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), extra);
    (ory, upstream, proxy)
}

/// Threads and open fds of `pid` once they stop changing.
fn settled(pid: u32) -> (u64, usize) {
    let sample = || {
        (
            proc_status(pid, "Threads").expect("Threads"),
            open_fds(pid).expect("fds"),
        )
    };
    let mut last = sample();
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(250));
        let now = sample();
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

/// Threads and fds once the proxy holds its kept upstream connections (a GET and a POST).
fn warmed(proxy: &ProxyProcess) -> (u64, usize) {
    assert_eq!(Req::get(&proxy.url("/warm")).send().status, 200);
    assert_eq!(Req::post(&proxy.url("/warm")).body("x").send().status, 200);
    settled(proxy.pid())
}

/// Waits until the proxy is back to `before` threads and fds (at most 15 s), then asserts it.
fn assert_back_to(pid: u32, before: (u64, usize)) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let now = loop {
        let now = settled(pid);
        if (now.0 <= before.0 && now.1 <= before.1) || Instant::now() > deadline {
            break now;
        }
    };
    assert!(
        now.0 <= before.0 && now.1 <= before.1,
        "threads/fds {before:?} before, {now:?} after"
    );
}

/// Lines of the proxy's log that name the flag.
fn rate_lines(proxy: &ProxyProcess) -> Vec<String> {
    proxy
        .stderr()
        .lines()
        .filter(|l| l.contains("--min-data-rate"))
        .map(str::to_owned)
        .collect()
}

/// Sends a POST head declaring `length` body bytes, then one body byte every `every` until the
/// proxy answers or closes; returns what it answered and how long that took.
fn trickle(
    proxy: &ProxyProcess,
    path: &str,
    accept: &str,
    length: usize,
    every: Duration,
) -> (Vec<u8>, Duration) {
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\nContent-Length: {length}\r\n\r\n"
    )
    .unwrap();
    let started = Instant::now();
    for _ in 0..length {
        if s.write_all(b"a").is_err() {
            break;
        }
        // Anything back (an answer or a close) ends the trickle.
        s.set_read_timeout(Some(every)).unwrap();
        let mut peek = [0u8; 1];
        match s.peek(&mut peek) {
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            _ => break,
        }
    }
    let answer = read_until_close(&mut s, Duration::from_secs(20));
    (answer, started.elapsed())
}

#[test]
fn a_trickled_upload_gets_408_a_close_and_one_log_line() {
    let (_ory, upstream, proxy) = start(&["--no-jwt", "--min-data-rate", "100"]);
    let before = warmed(&proxy);
    // One byte a second against 100 bytes/s: cut once the 5 s grace is spent. A browser gets
    // the same refusal as a page.
    let html = std::thread::scope(|scope| {
        let page = scope.spawn(|| {
            trickle(
                &proxy,
                "/page",
                "text/html",
                1000,
                Duration::from_millis(1000),
            )
        });
        let (bytes, took) = trickle(&proxy, "/upload", "*/*", 1000, Duration::from_millis(1000));
        let text = String::from_utf8_lossy(&bytes).into_owned();
        assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
        assert!(text.contains("Connection: close"), "{text}");
        let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
        let json: serde_json::Value = serde_json::from_str(body).expect("JSON error");
        assert_eq!(json["error"]["code"], 408);
        let message = json["error"]["message"].as_str().unwrap();
        assert!(message.contains("--min-data-rate"), "{message}");
        assert!(
            took >= Duration::from_secs(4) && took < Duration::from_secs(15),
            "cut after {took:?}"
        );
        page.join().unwrap().0
    });
    let html = String::from_utf8_lossy(&html).into_owned();
    assert!(html.starts_with("HTTP/1.1 408 "), "{html}");
    assert!(html.contains("text/html"), "{html}");
    // One line each, naming the flag; the upstream never got a whole body.
    let lines = rate_lines(&proxy);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(upstream.requests().iter().all(|r| r.body.len() < 1000));
    assert_eq!(Req::get(&proxy.url("/after")).send().status, 200);
    assert_back_to(proxy.pid(), before);
}

#[test]
fn with_the_rate_off_a_slow_upload_within_the_client_timeout_succeeds() {
    let (_ory, upstream, proxy) = start(&["--no-jwt", "--min-data-rate", "0"]);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.write_all(
        b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    // 9 bytes over 7 s: far below any rate, each gap well within --client-timeout.
    for b in b"trickled!" {
        std::thread::sleep(Duration::from_millis(780));
        s.write_all(&[*b]).unwrap();
    }
    let head = read_head(&mut s).unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(upstream.last_request().body, b"trickled!");
    assert!(rate_lines(&proxy).is_empty());
}

#[test]
fn a_client_reading_below_the_rate_is_disconnected() {
    // 4 MB/s: the kernel buffers (a few MiB) pay for about a second, so the cut comes soon
    // after the grace.
    let (_ory, upstream, proxy) = start(&["--no-jwt", "--min-data-rate", "4000000"]);
    let before = warmed(&proxy);
    let piece = vec![b'x'; 1 << 20];
    upstream.always(Reply::new(200).chunked(vec![piece; 96], Duration::ZERO));
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut s).unwrap();
    assert_eq!(head.status(), 200);
    // A few hundred bytes a second for 12 s (the cut comes at about 6 s), then as fast as it
    // goes: what the kernel still held for this client arrives, then the reset, never the rest.
    let started = Instant::now();
    let mut read = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    while started.elapsed() < Duration::from_secs(12) {
        read += s.read(&mut buf[..64]).expect("slow read");
        std::thread::sleep(Duration::from_millis(200));
    }
    let ended = loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break started.elapsed(),
            Ok(n) => read += n,
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "still open after {read} bytes"
        );
    };
    assert!(
        read < 48 << 20,
        "read {read} bytes of 96 MiB, ended after {ended:?}"
    );
    let lines = crate::util::wait_until("the slow-reader log line", || {
        let lines = rate_lines(&proxy);
        (!lines.is_empty()).then_some(lines)
    });
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("read the answer"), "{}", lines[0]);
    upstream.clear_hook();
    assert_eq!(Req::get(&proxy.url("/after")).send().status, 200);
    assert_back_to(proxy.pid(), before);
}

#[test]
fn at_the_cap_a_below_rate_upload_gives_way_to_a_new_request() {
    let (_ory, _upstream, proxy) = start(&[
        "--no-jwt",
        "--max-connections",
        "4",
        "--min-data-rate",
        "1000",
    ]);
    let before = warmed(&proxy);
    // Four uploads that declared a body and sent one byte of it: busy, not idle.
    let mut uploads: Vec<TcpStream> = (0..4)
        .map(|i| {
            let mut s = TcpStream::connect(proxy.addr).unwrap();
            write!(
                s,
                "POST /up{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\na"
            )
            .unwrap();
            s
        })
        .collect();
    // Past the 1 s floor, inside the 5 s grace: below the rate, not cut yet.
    std::thread::sleep(Duration::from_millis(2000));
    let mut c = Conn::open(proxy.addr);
    c.send(b"GET /.ory/proxy/health/alive HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let a = c.answer();
    assert_eq!(a.status, 200, "{}", a.text());
    // One line for the closed upload: its own access line, 408, naming both flags.
    proxy.wait_for_log(|l| l.contains("closed early to make room at --max-connections"));
    let lines = rate_lines(&proxy);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains(" POST /up")
            && lines[0].contains(" 408 ")
            && lines[0].contains(
                "request body arrived slower than --min-data-rate (1000 bytes/s on average): \
                 closed early to make room at --max-connections"
            ),
        "{}",
        lines[0]
    );
    // One of the uploads was the one closed (without a complete body, never a 200); the
    // others are still open, inside their grace.
    let closed = uploads
        .iter_mut()
        .filter(|s| {
            s.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            // Shed without an answer: an end (0 bytes) or a reset.
            match (&**s).read(&mut [0u8; 64]) {
                Ok(n) => n == 0,
                Err(e) => !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
            }
        })
        .count();
    assert_eq!(closed, 1, "uploads closed");
    drop(uploads);
    assert_back_to(proxy.pid(), before);
}
