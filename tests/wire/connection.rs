//! Several requests on one connection (pipelining, HTTP/1.0 keep-alive), and the flood of
//! hung-up clients that used to crash the process (issue 9).

use super::Conn;
use crate::util::raw::proc_status;
use crate::util::{Reply, Req, Stack};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn pipelined_requests_are_answered_in_order() {
    let stack = Stack::start(&["--no-jwt"]);
    // The first answer is the slowest: the proxy's own (instant) endpoint behind it must wait.
    // It comes chunked: the answers behind it only parse if its framing is exact.
    stack.upstream.set_hook(|r| {
        (r.path() == "/p1").then(|| {
            Reply::new(200)
                .chunked(vec![b"fir".to_vec(), b"st".to_vec()], Duration::ZERO)
                .delay(Duration::from_millis(500))
                .into()
        })
    });
    let mut conn = Conn::open(stack.proxy.addr);
    conn.send(
        b"GET /p1 HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /p2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
          GET /.ory/proxy/health/alive HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /p4 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
          GET /p5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let first = conn.answer();
    assert_eq!((first.status, first.text().as_str()), (200, "first"));
    assert_eq!(first.header("transfer-encoding"), Some("chunked"));
    let second = conn.answer();
    assert_eq!(second.status, 200);
    assert_eq!(second.json()["target"], "/p2");
    assert_eq!(second.json()["body"], "hello");
    let third = conn.answer();
    assert_eq!(third.status, 200, "{}", third.text());
    assert!(
        third.json().get("target").is_none(),
        "forwarded: {}",
        third.text()
    );
    let fourth = conn.answer();
    assert_eq!(fourth.json()["target"], "/p4");
    assert_eq!(fourth.json()["body"], "abc");
    let fifth = conn.answer();
    assert_eq!(fifth.json()["target"], "/p5");
    conn.assert_closed(Duration::from_secs(5));
    let paths: Vec<String> = stack
        .upstream
        .requests()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    assert_eq!(paths, ["/p1", "/p2", "/p4", "/p5"]);
}

#[test]
fn http_1_0_keep_alive_gets_a_sized_answer_and_an_open_connection() {
    let stack = Stack::start(&["--no-jwt"]);
    let mut conn = Conn::open(stack.proxy.addr);
    for path in ["/one", "/two"] {
        conn.send(
            format!("GET {path} HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n").as_bytes(),
        );
        let answer = conn.answer();
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert!(answer.header("transfer-encoding").is_none(), "{answer:?}");
        let length = answer
            .header("content-length")
            .unwrap_or_else(|| panic!("no length: {answer:?}"));
        assert_eq!(length, answer.body.len().to_string());
        // An HTTP/1.0 client keeps the connection only when the answer says so.
        assert!(
            answer
                .header("connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("keep-alive")),
            "{answer:?}"
        );
        assert_eq!(answer.json()["target"], path);
    }
    // Without the keep-alive option, HTTP/1.0 ends with the answer.
    conn.send(b"GET /three HTTP/1.0\r\nHost: x\r\n\r\n");
    assert_eq!(conn.answer().json()["target"], "/three");
    conn.assert_closed(Duration::from_secs(5));
    assert_eq!(stack.upstream.request_count(), 3);
}

/// Connections at once and in all for the flood below (issue 9: the process aborted after
/// 1,337–2,278 of these).
const FLOODERS: usize = 8;
const FLOOD: usize = 3000;

#[test]
fn three_thousand_huge_lengths_that_hang_up_leave_no_threads_behind() {
    let stack = Stack::start(&["--no-jwt"]);
    let addr = stack.proxy.addr;
    let pid = stack.proxy.pid();
    let sent = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..FLOODERS {
            scope.spawn(|| {
                for _ in 0..FLOOD / FLOODERS {
                    // The backlog may be full for a moment; that is not what is tested.
                    let Some(mut s) = (0..50).find_map(|_| {
                        TcpStream::connect(addr)
                            .inspect_err(|_| std::thread::sleep(Duration::from_millis(10)))
                            .ok()
                    }) else {
                        panic!("cannot connect to the proxy");
                    };
                    let _ = s.write_all(
                        b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000000\r\n\r\n",
                    );
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    // Hang up at once.
                }
            });
        }
    });
    assert_eq!(sent.into_inner(), FLOOD);
    let flood_over = Instant::now();
    let mut proxy = stack.proxy;
    let threads = loop {
        assert!(
            proxy.is_running(),
            "the proxy died; stderr:\n{}",
            proxy.stderr()
        );
        let threads = proc_status(pid, "Threads").expect("Threads");
        if threads < 400 {
            break threads;
        }
        assert!(
            flood_over.elapsed() < Duration::from_secs(3),
            "{threads} threads 3 s after the flood"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!(
        "{threads} threads {:?} after the flood",
        flood_over.elapsed()
    );
    let r = Req::get(&proxy.url("/after")).send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(stack.upstream.request_count(), 1);
    assert!(proxy.is_running());
}
