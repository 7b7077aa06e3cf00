//! Hostile clients of the HTTPS port: plain HTTP sent to it, handshakes aborted, trickled a
//! byte at a time, or followed by garbage. Each gets a prompt end (a plain `400` for plain
//! HTTP), and none leaves a thread or a descriptor behind.

use crate::tls::start_tls;
use crate::util::certs::Cert;
use crate::util::files::TempDir;
use crate::util::raw::{open_fds, proc_status};
use crate::util::{FakeOry, ProxyProcess, Upstream};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// A real ClientHello for `localhost` (Python's `ssl` module, from the standard library).
fn client_hello() -> Vec<u8> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import ssl, sys\n\
             i, o = ssl.MemoryBIO(), ssl.MemoryBIO()\n\
             s = ssl.create_default_context().wrap_bio(i, o, server_hostname='localhost')\n\
             try:\n    s.do_handshake()\nexcept ssl.SSLWantReadError:\n    pass\n\
             sys.stdout.buffer.write(o.read())",
        )
        .output()
        .expect("python3");
    assert!(out.status.success() && out.stdout.first() == Some(&0x16));
    out.stdout
}

fn sample(pid: u32) -> (u64, usize) {
    (
        proc_status(pid, "Threads").expect("Threads"),
        open_fds(pid).expect("fds"),
    )
}

/// Waits until threads and fds are back at `before` (10 s at most) and asserts it.
fn back_to(pid: u32, before: (u64, usize), what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut now = sample(pid);
    while (now.0 > before.0 || now.1 > before.1) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        now = sample(pid);
    }
    assert!(
        now.0 <= before.0 && now.1 <= before.1,
        "{what}: threads and fds {before:?} before, {now:?} after"
    );
}

/// Reads until the proxy ends the connection; `Some(bytes)` when it did within `limit`.
fn read_to_end_within(s: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None
            }
            // A reset is an end too.
            Err(_) => return Some(got),
        }
    }
}

fn proxy(dir: &TempDir, extra: &[&str]) -> (ProxyProcess, FakeOry, Upstream) {
    let cert = Cert::make(dir, "proxy", "ec");
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let mut args = vec!["--no-jwt"];
    args.extend_from_slice(extra);
    (start_tls(&upstream, &ory, &cert, &args), ory, upstream)
}

#[test]
fn plain_http_to_the_https_port_gets_a_400_that_says_so_and_a_close() {
    let dir = TempDir::new("tls-plain");
    let (proxy, _ory, upstream) = proxy(&dir, &[]);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.write_all(b"GET /page HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let answer = read_to_end_within(&mut s, Duration::from_secs(10)).expect("closed");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert!(text.contains("this port speaks HTTPS"), "{text}");
    assert!(text.contains("Connection: close"), "{text}");
    assert_eq!(upstream.request_count(), 0);
}

#[test]
fn garbage_after_a_client_hello_is_a_close_not_a_hang() {
    let dir = TempDir::new("tls-garbage");
    // A long client timeout: only the proxy noticing the garbage can end this in time.
    let (proxy, _ory, _upstream) = proxy(&dir, &["--client-timeout", "60s"]);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    let mut bytes = client_hello();
    bytes.extend((0..600u32).map(|i| (i * 7 + 3) as u8));
    s.write_all(&bytes).unwrap();
    let started = Instant::now();
    assert!(
        read_to_end_within(&mut s, Duration::from_secs(15)).is_some(),
        "the connection was still open after {:?}",
        started.elapsed()
    );
}

#[test]
fn aborted_and_trickled_handshakes_end_and_leave_threads_and_fds_where_they_were() {
    let dir = TempDir::new("tls-hostile");
    let (proxy, _ory, _upstream) = proxy(&dir, &["--client-timeout", "2s"]);
    let pid = proxy.pid();
    let hello = client_hello();
    // One whole handshake first, so lazily made state is in place before the baseline.
    let mut warm = TcpStream::connect(proxy.addr).unwrap();
    warm.write_all(&hello).unwrap();
    drop(warm);
    std::thread::sleep(Duration::from_millis(500));
    let before = sample(pid);

    for i in 0..1000usize {
        let mut s = TcpStream::connect(proxy.addr).unwrap();
        // Cut somewhere in the ClientHello (sometimes before its first byte).
        let _ = s.write_all(&hello[..i % hello.len().min(300)]);
    }
    back_to(pid, before, "1,000 aborted handshakes");

    // 200 handshakes trickled a byte every 400 ms: each is cut once the whole-head deadline
    // (2 s from the accept) passes, as a trickled head is.
    let mut open: Vec<(TcpStream, usize, Instant)> = (0..200)
        .map(|_| (TcpStream::connect(proxy.addr).unwrap(), 0, Instant::now()))
        .collect();
    let started = Instant::now();
    // How long each lasted from its connect.
    let mut lasted = Vec::new();
    while !open.is_empty() && started.elapsed() < Duration::from_secs(20) {
        let mut still = Vec::new();
        for (mut s, sent, connected) in open {
            s.set_nonblocking(true).unwrap();
            let mut buf = [0u8; 64];
            let ended = match s.read(&mut buf) {
                Ok(_) => true,
                Err(e) => e.kind() != ErrorKind::WouldBlock,
            };
            let ended = ended || s.write(&hello[sent..sent + 1]).is_err();
            if ended {
                lasted.push(connected.elapsed());
            } else {
                still.push((s, sent + 1, connected));
            }
        }
        open = still;
        std::thread::sleep(Duration::from_millis(400));
    }
    assert!(
        open.is_empty(),
        "{} trickled handshakes still open after 20 s",
        open.len()
    );
    // The deadline runs from the accept, which is after the connect.
    let shortest = lasted.iter().min().unwrap();
    assert!(
        *shortest >= Duration::from_millis(1900),
        "a trickled handshake ended {shortest:?} after its connect, before the deadline"
    );
    back_to(pid, before, "200 trickled handshakes");
}
