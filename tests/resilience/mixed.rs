//! About 20,000 requests of every shape through one proxy, from 8 clients at once: kept-alive and
//! pipelined requests, signed-in ones, uploads, the proxy's own endpoints, heads, bodies and
//! answers abandoned halfway, resets, refused requests and WebSockets (closed properly or
//! dropped). Afterwards, once the clients are gone, the proxy must be back to the threads and
//! file descriptors it had before: every connection thread ended, every socket closed.
//!
//! The baseline is taken after one warm-up cycle of the same load, so what legitimately stays
//! (pooled idle connections to the upstream and to Ory, lazily started helpers) is in it.

use super::app::App;
use crate::util::conn::Conn;
use crate::util::raw::{open_fds, proc_status};
use crate::util::ws::{WsClient, CLOSE};
use crate::util::{FakeOry, ProxyProcess};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;
/// Cycles per client; a cycle is [`PER_CYCLE`] requests.
const CYCLES: usize = 32;
const PER_CYCLE: usize = 80;
/// File descriptors the proxy may hold beyond its baseline afterwards (a few more idle pooled
/// connections than after the warm-up).
const FD_SLACK: usize = 8;

/// One cycle of every kind of request; returns how many requests it made.
fn cycle(addr: SocketAddr, cookie: &str, n: usize) -> usize {
    let mut made = 0;
    made += kept_alive(addr, &format!("/ka/{n}"), &[], 30);
    made += pipelined(addr, 20);
    made += kept_alive(addr, "/me", &[("Cookie", cookie)], 10);
    made += kept_alive(addr, "/.ory/proxy/health/alive", &[], 5);
    made += kept_alive(addr, "/.ory/jwks.json", &[], 5);
    made += uploads(addr);
    made += abandoned(addr);
    made += refused(addr);
    made += websockets(addr, n);
    made
}

fn request(path: &str, headers: &[(&str, &str)]) -> String {
    let mut r = format!("GET {path} HTTP/1.1\r\nHost: x\r\n");
    for (n, v) in headers {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    r + "\r\n"
}

fn kept_alive(addr: SocketAddr, path: &str, headers: &[(&str, &str)], n: usize) -> usize {
    let mut conn = Conn::open(addr);
    for _ in 0..n {
        let a = conn.send(request(path, headers).as_bytes()).answer();
        assert_eq!(a.status, 200, "{path}: {}", a.text());
    }
    n
}

fn pipelined(addr: SocketAddr, n: usize) -> usize {
    let mut conn = Conn::open(addr);
    let all: String = (0..n)
        .map(|i| request(&format!("/pipe/{i}"), &[]))
        .collect();
    conn.send(all.as_bytes());
    for i in 0..n {
        assert_eq!(conn.answer().text(), format!("ok GET /pipe/{i} 0"));
    }
    n
}

fn uploads(addr: SocketAddr) -> usize {
    let mut conn = Conn::open(addr);
    let body = vec![b'u'; 64 * 1024];
    conn.send(
        format!(
            "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    conn.send(&body);
    assert_eq!(conn.answer().text(), "ok POST /up 65536");
    conn.send(b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for piece in body.chunks(16 * 1024) {
        conn.send(format!("{:x}\r\n", piece.len()).as_bytes());
        conn.send(piece).send(b"\r\n");
    }
    conn.send(b"0\r\n\r\n");
    assert_eq!(conn.answer().text(), "ok POST /up 65536");
    2
}

/// A head cut short, a body cut short, an answer not read to its end, and a reset.
fn abandoned(addr: SocketAddr) -> usize {
    let mut s = TcpStream::connect(addr).unwrap();
    let _ = s.write_all(b"GET /cut HTTP/1.1\r\nHost: x\r\nX-A: ");
    drop(s);
    let mut s = TcpStream::connect(addr).unwrap();
    let _ = s.write_all(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    let _ = s.write_all(&[b'b'; 1000]);
    drop(s);
    let mut conn = Conn::open(addr);
    conn.send(b"GET /big/8 HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut head = [0u8; 12];
    std::io::Read::read_exact(&mut conn.stream, &mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    drop(conn);
    // Closing with unread bytes in the receive buffer sends a reset instead of a FIN.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /reset HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.peek(&mut [0u8; 1]);
    drop(s);
    4
}

fn refused(addr: SocketAddr) -> usize {
    for bad in [
        &b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
        b"GE(T /a HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let mut conn = Conn::open(addr);
        assert_eq!(conn.send(bad).answer().status, 400);
    }
    2
}

fn websockets(addr: SocketAddr, n: usize) -> usize {
    let mut ws = WsClient::connect(addr, "/ws", &[]).unwrap_or_else(|h| panic!("no 101: {h:?}"));
    for i in 0..3 {
        let text = format!("message {n}.{i}");
        ws.send_text(&text);
        assert_eq!(ws.read_text(), text);
    }
    ws.send_close();
    assert_eq!(ws.read().expect("close frame").opcode, CLOSE);
    drop(ws);
    // One dropped without a close frame.
    let mut ws = WsClient::connect(addr, "/ws", &[]).unwrap_or_else(|h| panic!("no 101: {h:?}"));
    ws.send_text("going away");
    drop(ws);
    2
}

/// Threads and open fds of `pid` once they stop changing (two equal samples 300 ms apart).
fn settled(pid: u32) -> (u64, usize) {
    let sample = || {
        (
            proc_status(pid, "Threads").expect("Threads"),
            open_fds(pid).expect("fds"),
        )
    };
    let mut last = sample();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(300));
        let now = sample();
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

fn run(addr: SocketAddr, cookies: &[String], cycles: usize) -> usize {
    let made = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for (c, cookie) in cookies.iter().enumerate() {
            let made = &made;
            scope.spawn(move || {
                for n in 0..cycles {
                    made.fetch_add(cycle(addr, cookie, c * 1000 + n), Ordering::Relaxed);
                }
            });
        }
    });
    made.into_inner()
}

#[test]
fn twenty_thousand_mixed_requests_leave_threads_and_fds_where_they_were() {
    let ory = FakeOry::start();
    let app = App::start();
    let proxy = ProxyProcess::start(&app.url(), &ory.url(), &[]);
    let pid = proxy.pid();
    let cookies: Vec<String> = (0..CLIENTS)
        .map(|i| {
            ory.create_session(&format!("mixed{i}@example.org"))
                .cookie()
        })
        .collect();
    run(proxy.addr, &cookies, 1);
    let (threads_before, fds_before) = settled(pid);

    let started = Instant::now();
    let made = run(proxy.addr, &cookies, CYCLES);
    let took = started.elapsed();
    assert_eq!(made, CLIENTS * CYCLES * PER_CYCLE);

    // Once the clients are gone, everything they caused must end by itself.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (threads, fds) = loop {
        let (threads, fds) = (
            proc_status(pid, "Threads").expect("Threads"),
            open_fds(pid).expect("fds"),
        );
        if (threads <= threads_before && fds <= fds_before + FD_SLACK) || Instant::now() > deadline
        {
            break (threads, fds);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!(
        "{made} requests in {took:?}; threads {threads_before} → {threads}, fds {fds_before} → {fds}"
    );
    assert!(
        threads <= threads_before,
        "threads {threads_before} before, {threads} after"
    );
    assert!(
        fds <= fds_before + FD_SLACK,
        "fds {fds_before} before, {fds} after"
    );
    // And it still serves.
    let r = crate::util::Req::get(&proxy.url("/after")).send();
    assert_eq!(r.text(), "ok GET /after 0");
}
