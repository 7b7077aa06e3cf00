//! Timeouts, back-pressure and graceful shutdown.

use crate::util::{FakeOry, ProxyProcess, Reply, Req, Upstream, Whoami};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn slow_upstream_is_504_after_the_upstream_timeout() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    upstream.always(Reply::new(200).body("late").delay(Duration::from_secs(5)));
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &["--no-jwt", "--upstream-timeout", "1s"],
    );
    let started = Instant::now();
    let r = Req::get(&proxy.url("/slow")).send();
    let waited = started.elapsed();
    let message = r.assert_proxy_error(504);
    assert!(message.contains("upstream timed out"), "{message}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(4500),
        "{waited:?}"
    );
    proxy.wait_for_log(|l| l.contains("504"));
}

#[test]
fn slow_session_lookup_is_504_within_the_session_timeout() {
    let ory = FakeOry::start();
    ory.set_whoami(Whoami::Slow(Duration::from_secs(10)));
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--session-timeout", "500ms"]);
    let session = ory.create_session("slow@example.org");
    let started = Instant::now();
    let r = Req::get(&proxy.url("/app"))
        .header("Cookie", &session.cookie())
        .send();
    let waited = started.elapsed();
    let message = r.assert_proxy_error(504);
    assert!(message.contains("session lookup"), "{message}");
    // One attempt and one retry, 500 ms each.
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(upstream.request_count(), 0, "not forwarded anonymously");
}

#[test]
fn overload_is_503_with_retry_after() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    upstream.always(Reply::new(200).body("done").delay(Duration::from_secs(3)));
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &["--no-jwt", "--max-connections", "1"],
    );
    // Room for one connection. Once it is busy (the upstream has its request), a request on a
    // second connection is refused at once.
    let url = proxy.url("/r0");
    let busy = std::thread::spawn(move || Req::get(&url).send());
    upstream.wait_for_requests(1);
    let started = Instant::now();
    let refused = Req::get(&proxy.url("/r1")).send();
    let message = refused.assert_proxy_error(503);
    assert!(message.contains("overloaded"), "{message}");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(busy.join().unwrap().status, 200);
    assert_eq!(
        upstream.request_count(),
        1,
        "the refused request was not forwarded"
    );
}

fn kill(pid: u32, signal: &str) {
    // The shell's builtin `kill`: a fresh Debian machine may lack procps' /bin/kill.
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("kill -{signal} {pid}")])
        .status()
        .expect("run sh -c kill");
    assert!(status.success());
}

#[test]
fn sigterm_lets_a_slow_request_finish_then_exits_0() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    upstream.always(
        Reply::new(200)
            .body("finished")
            .delay(Duration::from_millis(1500)),
    );
    let mut proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    let url = proxy.url("/slow");
    let slow = std::thread::spawn(move || Req::get(&url).send());
    upstream.wait_for_requests(1);
    kill(proxy.pid(), "TERM");
    let r = slow.join().unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "finished");
    let status = proxy
        .wait_exit(Duration::from_secs(20))
        .expect("proxy exited after SIGTERM");
    assert_eq!(status.code(), Some(0), "stderr:\n{}", proxy.stderr());
    // No longer accepting.
    assert!(TcpStream::connect_timeout(&proxy.addr, Duration::from_secs(2)).is_err());
    proxy.wait_for_log(|l| l.contains("shut down cleanly"));
}

#[test]
fn sigint_with_a_hung_request_exits_after_the_grace_period() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    upstream.always(Reply::new(200).delay(Duration::from_secs(30)));
    let mut proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &["--no-jwt", "--shutdown-grace", "1s"],
    );
    let url = proxy.url("/hangs");
    std::thread::spawn(move || Req::get(&url).try_send());
    upstream.wait_for_requests(1);
    let started = Instant::now();
    kill(proxy.pid(), "INT");
    let status = proxy
        .wait_exit(Duration::from_secs(20))
        .expect("proxy exited after SIGINT");
    assert_eq!(status.code(), Some(0));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    // The last line may still be on its way from the pipe when the exit is seen.
    proxy.wait_for_log(|l| l.contains("cut off"));
}

#[test]
fn unreachable_in_time_is_504_after_the_connect_timeout() {
    // A listener that never accepts, its accept queue filled: further SYNs are dropped, so a
    // connection attempt hangs until the proxy's connect timeout.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut filler = Vec::new();
    for _ in 0..1024 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => filler.push(s),
            Err(_) => break,
        }
    }
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(
        &format!("http://{addr}"),
        &ory.url(),
        &["--no-jwt", "--connect-timeout", "1s"],
    );
    let started = Instant::now();
    let r = Req::get(&proxy.url("/blackhole")).send();
    let waited = started.elapsed();
    let message = r.assert_proxy_error(504);
    assert!(message.contains("timed out"), "{message}");
    assert!(waited < Duration::from_secs(8), "{waited:?}");
    drop(listener);
}

#[test]
fn during_shutdown_open_connections_are_served_with_connection_close() {
    let ory = FakeOry::start();
    let upstream = Upstream::with(|req| {
        (req.path() == "/slow").then(|| {
            Reply::new(200)
                .body("slow")
                .delay(Duration::from_secs(2))
                .into()
        })
    });
    let mut proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    // A keep-alive connection, used once before the signal.
    let mut kept = TcpStream::connect(proxy.addr).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    std::io::Write::write_all(&mut kept, b"GET /before HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let head = crate::util::raw::read_head(&mut kept).unwrap();
    assert_eq!(head.status(), 200);
    let n: usize = head.header("content-length").unwrap().parse().unwrap();
    crate::util::raw::read_exact_body(&mut kept, head.rest.clone(), n);
    // A slow request keeps the shutdown waiting.
    let url = proxy.url("/slow");
    let slow = std::thread::spawn(move || Req::get(&url).send());
    upstream.wait_for_requests(2);
    kill(proxy.pid(), "TERM");
    proxy.wait_for_log(|l| l.contains("shutting down"));
    // New connections are refused…
    assert!(TcpStream::connect_timeout(&proxy.addr, Duration::from_secs(2)).is_err());
    // …but the open one is still served, and told to close.
    std::io::Write::write_all(&mut kept, b"GET /during HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let head = crate::util::raw::read_head(&mut kept).unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.header("connection"), Some("close"));
    assert_eq!(slow.join().unwrap().text(), "slow");
    let status = proxy.wait_exit(Duration::from_secs(20)).expect("exited");
    assert_eq!(status.code(), Some(0));
    assert!(upstream.requests().iter().any(|r| r.path() == "/during"));
}
