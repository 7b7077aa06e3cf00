//! The cap on open client connections (`--max-connections`): the longest-idle connection (or
//! one still trickling its head) gives way to a new one; when every connection is busy, a new
//! one gets 503 with `Retry-After`.

use crate::util::client::RawResponse;
use crate::util::raw::read_head;
use crate::util::{raw_exchange, FakeOry, ProxyProcess, Reply, Req, Upstream};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn start(extra: &[&str]) -> (FakeOry, Upstream, ProxyProcess) {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), extra);
    (ory, upstream, proxy)
}

/// Whether the proxy has closed `s` (without blocking).
fn closed(s: &TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut b = [0u8; 1];
    let mut r: &TcpStream = s;
    let gone = match r.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).unwrap();
    gone
}

#[test]
fn beyond_max_connections_the_longest_idle_is_closed_then_new_ones_get_503() {
    let ory = FakeOry::start();
    let upstream = Upstream::with(|req| {
        (req.path() == "/slow").then(|| Reply::new(200).delay(Duration::from_secs(3)).into())
    });
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &["--no-jwt", "--max-connections", "2"],
    );
    // Two kept-alive connections, used and idle; the first idle longer.
    let mut first = TcpStream::connect(proxy.addr).unwrap();
    first
        .write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_head(&mut first).unwrap().status(), 200);
    std::thread::sleep(Duration::from_millis(50));
    let mut second = TcpStream::connect(proxy.addr).unwrap();
    second
        .write_all(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_head(&mut second).unwrap().status(), 200);
    // A third connection takes the place of the first.
    let mut third = TcpStream::connect(proxy.addr).unwrap();
    third
        .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    crate::util::wait_until("the longest idle connection to close", || {
        closed(&first).then_some(())
    });
    assert!(!closed(&second));
    // `second` is now the idle one: a fourth connection takes its place too.
    upstream.wait_for_requests(3);
    let mut fourth = TcpStream::connect(proxy.addr).unwrap();
    fourth
        .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    crate::util::wait_until("the second connection to close", || {
        closed(&second).then_some(())
    });
    // Both connections busy, none idle: a fifth is refused with 503 and Retry-After.
    upstream.wait_for_requests(4);
    let bytes = raw_exchange(proxy.addr, b"GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = RawResponse::parse(&bytes);
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("overloaded"));
    // The busy ones finish normally.
    assert_eq!(read_head(&mut third).unwrap().status(), 200);
    assert_eq!(read_head(&mut fourth).unwrap().status(), 200);
    assert_eq!(
        upstream.request_count(),
        4,
        "the refused request was not forwarded"
    );
    proxy.wait_for_log(|l| l.contains("--max-connections 2"));
}

#[test]
fn at_max_connections_trickling_heads_give_way_to_new_connections() {
    let (_ory, upstream, proxy) = start(&["--no-jwt", "--max-connections", "5"]);
    // Five connections with half a head each: every place taken, none of them busy.
    let stalled: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut s = TcpStream::connect(proxy.addr).unwrap();
            s.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\n").unwrap();
            // Apart in time, so which one is oldest is certain.
            std::thread::sleep(Duration::from_millis(50));
            s
        })
        .collect();
    // A new connection takes the place of the oldest, and is served.
    assert_eq!(Req::get(&proxy.url("/fresh")).send().status, 200);
    crate::util::wait_until("the oldest to close", || closed(&stalled[0]).then_some(()));
    assert!(stalled[1..].iter().all(|s| !closed(s)));
    assert_eq!(upstream.request_count(), 1);
}

#[test]
fn bind_localhost_listens_on_the_loopback_addresses() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let mut child = crate::util::proxy::command(
        &[
            &upstream.url(),
            "--sdk-url",
            &ory.url(),
            "--bind",
            "localhost",
            "--port",
            "0",
        ],
        &[],
    )
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("spawn ory-proxy");
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    // Ended even when an assertion below fails.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _child = Killed(child);
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut first).unwrap();
    let addr = crate::util::proxy::listening_addr(first.trim()).expect(&first);
    assert!(addr.ip().is_loopback(), "{first}");
    let get = |host: &str| Req::get(&format!("http://{host}:{}/x", addr.port())).send();
    assert_eq!(get("127.0.0.1").status, 200);
    // IPv6 loopback too, where the host has one.
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        assert_eq!(get("[::1]").status, 200);
    }
}
