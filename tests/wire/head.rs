//! The request head (SPEC §7): at most 64 KiB, whole within `--client-timeout`, no low cap on
//! the number of fields, obs-text forwarded unchanged, and the shapes RFC 9112 refuses.

use super::capture::CaptureUpstream;
use super::{ask, assert_nothing_forwarded, assert_refused_and_closed, Conn};
use crate::util::raw::{proc_status, RssSampler};
use crate::util::{FakeOry, ProxyProcess, Stack};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn a_head_over_64_kib_in_one_line_is_431_and_never_forwarded() {
    let stack = Stack::start(&["--no-jwt"]);
    let long = "a".repeat(70 * 1024);
    let request = format!("GET /long HTTP/1.1\r\nHost: x\r\nX-Long: {long}\r\n\r\n");
    assert_refused_and_closed(stack.proxy.addr, request.as_bytes(), 431);
    // A request line alone over the cap is the same.
    let request = format!("GET /{long} HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_refused_and_closed(stack.proxy.addr, request.as_bytes(), 431);
    assert_eq!(stack.upstream.request_count(), 0);
}

#[test]
fn a_head_over_64_kib_of_short_fields_is_431_and_never_forwarded() {
    let stack = Stack::start(&["--no-jwt"]);
    // 3,000 fields of 25 bytes: 75 KiB, each one harmless.
    let fields: String = (0..3000)
        .map(|i| format!("X-F{i:05}: value-{i:05}\r\n"))
        .collect();
    let request = format!("GET /many HTTP/1.1\r\nHost: x\r\n{fields}\r\n");
    assert!(request.len() > 64 * 1024);
    assert_refused_and_closed(stack.proxy.addr, request.as_bytes(), 431);
    assert_eq!(stack.upstream.request_count(), 0);
}

#[test]
fn a_16_mib_header_line_grows_memory_by_less_than_8_mib() {
    let stack = Stack::start(&["--no-jwt"]);
    let pid = stack.proxy.pid();
    // Settle the start-up allocations first.
    assert_eq!(
        crate::util::Req::get(&stack.proxy.url("/warm"))
            .send()
            .status,
        200
    );
    let before = proc_status(pid, "VmRSS").expect("VmRSS");
    let sampler = RssSampler::start(pid);
    let mut s = TcpStream::connect(stack.proxy.addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        .unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0usize;
    while sent < 16 << 20 {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    // Whatever arrives (a 431 or nothing), the connection ends.
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    std::thread::sleep(Duration::from_millis(200));
    let peak = sampler.stop();
    assert!(
        peak.saturating_sub(before) < 8 * 1024,
        "RSS {before} KiB before, {peak} KiB at the peak ({sent} bytes sent)"
    );
    // Only the warm-up request arrived.
    assert_eq!(stack.upstream.request_count(), 1);
}

#[test]
fn three_hundred_short_fields_are_a_normal_request() {
    let stack = Stack::start(&["--no-jwt"]);
    let fields: String = (0..300).map(|i| format!("X-Field-{i}: v{i}\r\n")).collect();
    let request = format!("GET /fields HTTP/1.1\r\nHost: x\r\n{fields}Connection: close\r\n\r\n");
    let (answer, _) = ask(stack.proxy.addr, request.as_bytes());
    assert_eq!(answer.status, 200, "{}", answer.text());
    let seen = stack.upstream.last_request();
    for i in 0..300 {
        assert_eq!(
            seen.header(&format!("x-field-{i}")),
            Some(format!("v{i}").as_str()),
            "field {i} of 300"
        );
    }
}

#[test]
fn a_trickled_head_is_cut_at_the_whole_head_deadline() {
    // One byte a second: every single read arrives well within a per-read timeout of 2 s, so
    // only a deadline on the whole head ends this.
    let stack = Stack::start(&["--no-jwt", "--client-timeout", "2s"]);
    let mut s = TcpStream::connect(stack.proxy.addr).unwrap();
    let head = b"GET /trickle HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let started = Instant::now();
    let mut received = Vec::new();
    let mut cut_after = None;
    'trickle: for b in head {
        if s.write_all(&[*b]).is_err() {
            cut_after = Some(started.elapsed());
            break;
        }
        let next = Instant::now() + Duration::from_secs(1);
        let mut buf = [0u8; 4096];
        while let Some(left) = next.checked_duration_since(Instant::now()) {
            s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match s.read(&mut buf) {
                Ok(0) => {
                    cut_after = Some(started.elapsed());
                    break 'trickle;
                }
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => {
                    cut_after = Some(started.elapsed());
                    break 'trickle;
                }
            }
        }
    }
    let cut_after = cut_after.expect("a head trickled for 60 s was never cut");
    assert!(
        cut_after >= Duration::from_millis(1500) && cut_after < Duration::from_secs(5),
        "cut after {cut_after:?} with --client-timeout 2s"
    );
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.starts_with("HTTP/1.1 408 ") && text.contains(r#""code":408"#),
        "{text:?}"
    );
    assert_eq!(stack.upstream.request_count(), 0);
}

#[test]
fn obs_text_in_field_values_is_forwarded_byte_exact() {
    // RFC 9110 §5.5: bytes 0x80–0xFF in a field value are opaque data (ISO-8859-1 "Jürgen" and
    // a Latin-1 User-Agent from an old client).
    let ory = FakeOry::start();
    let upstream = CaptureUpstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    let cookie: &[u8] = b"name=J\xfcrgen";
    let agent: &[u8] = b"Mozilla/5.0 (compatible; \xc9t\xe9 \xff)";
    let mut request = b"GET /latin1 HTTP/1.1\r\nHost: x\r\nCookie: ".to_vec();
    request.extend_from_slice(cookie);
    request.extend_from_slice(b"\r\nUser-Agent: ");
    request.extend_from_slice(agent);
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    let (answer, _) = ask(proxy.addr, &request);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let seen = upstream.only();
    assert_eq!(
        seen.field("cookie").as_deref(),
        Some(cookie),
        "{}",
        seen.head_text()
    );
    assert_eq!(
        seen.field("user-agent").as_deref(),
        Some(agent),
        "{}",
        seen.head_text()
    );
}

#[test]
fn a_raw_non_ascii_byte_in_the_target_is_a_json_400() {
    // Issue 9 allows byte-exact forwarding or a JSON 400, never a silent close; the proxy
    // refuses (a target is ASCII by RFC 3986, and the upstream could decode it in another
    // charset than the proxy's routing did).
    let stack = Stack::start(&["--no-jwt"]);
    for target in [
        &b"/caf\xc3\xa9"[..],
        b"/\xe9t\xe9",
        b"/q?name=J\xfcrgen",
        b"/.ory/\xff",
    ] {
        let mut request = b"GET ".to_vec();
        request.extend_from_slice(target);
        request.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_refused_and_closed(stack.proxy.addr, &request, 400);
    }
    assert_nothing_forwarded(&stack);
}

#[test]
fn bare_lf_line_endings_are_served_at_once() {
    // RFC 9112 §2.2 lets a recipient accept a bare LF as a line terminator; the proxy does, and
    // forwards the request with proper CRLFs.
    let stack = Stack::start(&["--no-jwt"]);
    let started = Instant::now();
    let mut conn = Conn::open(stack.proxy.addr);
    conn.send(b"POST /lf HTTP/1.1\nHost: x\nX-A: 1\nContent-Length: 3\n\nabc");
    let answer = conn.answer();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    let seen = stack.upstream.last_request();
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("POST", "/lf")
    );
    assert_eq!(seen.header("x-a"), Some("1"));
    assert_eq!(seen.body, b"abc");
    // A mixed CRLF / LF head on the same connection, too.
    conn.send(b"GET /mixed HTTP/1.1\r\nHost: x\nX-B: 2\r\n\n");
    assert_eq!(conn.answer().status, 200);
    assert_eq!(stack.upstream.last_request().header("x-b"), Some("2"));
}

#[test]
fn http_1_1_without_host_is_400() {
    // RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without Host.
    let stack = Stack::start(&["--no-jwt"]);
    let (answer, _) = ask(
        stack.proxy.addr,
        b"GET /nohost HTTP/1.1\r\nX-A: 1\r\nConnection: close\r\n\r\n",
    );
    answer.assert_error(400);
    // HTTP/1.0 never required it.
    let (answer, _) = ask(stack.proxy.addr, b"GET /old HTTP/1.0\r\n\r\n");
    assert_eq!(answer.status, 200, "{}", answer.text());
    let seen = stack.upstream.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].path(), "/old");
}

#[test]
fn an_obs_folded_line_is_400_and_never_a_credential() {
    // RFC 9112 §5.2: a server that does not unfold must reject the message with 400. Folded into
    // a Cookie, the session cookie must not count as a credential either.
    let stack = Stack::start(&[]);
    let session = stack.ory.create_session("fold@example.org");
    let request = format!(
        "GET /fold HTTP/1.1\r\nHost: x\r\nCookie: theme=dark;\r\n {}\r\n\r\n",
        session.cookie()
    );
    assert_refused_and_closed(stack.proxy.addr, request.as_bytes(), 400);
    assert_refused_and_closed(
        stack.proxy.addr,
        b"GET /fold HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n",
        400,
    );
    assert_eq!(stack.ory.whoami_calls(), 0);
    assert_eq!(stack.upstream.request_count(), 0);
}

#[test]
fn a_fragment_in_the_target_is_400() {
    // `#` starts a fragment, which never goes on the wire; `/.ory#x` must not be routed as
    // `/.ory`, nor `/app#x` forwarded.
    let stack = Stack::start(&["--no-jwt"]);
    for target in ["/.ory#x", "/app#frag", "/app?q=1#frag"] {
        let (answer, _) = ask(
            stack.proxy.addr,
            format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        answer.assert_error(400);
    }
    assert_nothing_forwarded(&stack);
}

#[test]
fn connect_and_trace_are_405_and_never_forwarded() {
    // CONNECT would open a tunnel; TRACE would reflect the request (and its token) back.
    let stack = Stack::start(&[]);
    for request in [
        "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n",
        "CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n",
        "TRACE /x HTTP/1.1\r\nHost: x\r\n\r\n",
        "TRACE /.ory/x HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let (answer, _) = ask(stack.proxy.addr, request.as_bytes());
        answer.assert_error(405);
        // RFC 9110 §15.5.6: a 405 lists what is allowed, which is neither of these.
        let allow = answer
            .header("allow")
            .unwrap_or_else(|| panic!("no Allow: {answer:?}"));
        assert!(
            !allow.contains("CONNECT") && !allow.contains("TRACE"),
            "{allow}"
        );
    }
    assert_nothing_forwarded(&stack);
}

#[test]
fn a_method_that_is_not_a_token_is_400() {
    // RFC 9110 §5.6.2: tchar excludes delimiters such as "(", "@" and ",".
    let stack = Stack::start(&["--no-jwt"]);
    for method in ["GE(T", "G@T", "GET,POST", "GÉT"] {
        let request = format!("{method} /m HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_refused_and_closed(stack.proxy.addr, request.as_bytes(), 400);
    }
    assert_eq!(stack.upstream.request_count(), 0);
}

#[test]
fn a_start_no_request_can_have_is_400_at_once_without_waiting_for_the_head_end() {
    // A TLS hello or binary sent to the plain port, or a broken request line, never ends in an
    // empty line: it is refused as soon as its first bytes break the grammar, not at the deadline.
    let stack = Stack::start(&["--no-jwt", "--client-timeout", "30s"]);
    let garbage: Vec<u8> = (0..=255u8).collect();
    let starts: [&[u8]; 3] = [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        &garbage,
        b"GET /x HTTP/1.1 and more\r\nHost: x\r\n",
    ];
    for start in starts {
        let started = Instant::now();
        assert_refused_and_closed(stack.proxy.addr, start, 400);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?} took {:?}",
            String::from_utf8_lossy(start),
            started.elapsed()
        );
    }
    assert_eq!(stack.upstream.request_count(), 0);
}

#[test]
fn an_esc_in_the_method_never_reaches_the_log_raw() {
    let stack = Stack::start(&["--no-jwt"]);
    assert_refused_and_closed(
        stack.proxy.addr,
        b"G\x1b[31mET /esc\x07 HTTP/1.1\r\nHost: x\r\n\r\n",
        400,
    );
    assert_refused_and_closed(
        stack.proxy.addr,
        b"GET /esc HTTP/1.1\r\nHost: x\x1b[2J\r\n\r\n",
        400,
    );
    // A C1 control (U+009B, CSI to some terminals) encoded in UTF-8.
    assert_refused_and_closed(
        stack.proxy.addr,
        b"GET /esc HTTP/1.1\r\nHost: x\xc2\x9b31m\r\n\r\n",
        400,
    );
    // One log line per refusal, and no control character anywhere in the log.
    let refusal = |l: &str| l.contains(" 400 ");
    wait_for_lines(&stack.proxy, refusal, 3);
    std::thread::sleep(Duration::from_millis(300));
    let log = stack.proxy.stderr();
    assert_eq!(log.lines().filter(|l| refusal(l)).count(), 3, "{log}");
    assert!(
        !log.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in the log: {log:?}"
    );
    assert_eq!(stack.upstream.request_count(), 0);
}

/// Waits until `n` stderr lines satisfy `pred`; returns all of stderr.
fn wait_for_lines(proxy: &ProxyProcess, pred: impl Fn(&str) -> bool, n: usize) -> String {
    crate::util::wait_until(&format!("{n} matching log lines"), || {
        let log = proxy.stderr();
        (log.lines().filter(|l| pred(l)).count() >= n).then_some(log)
    })
}
