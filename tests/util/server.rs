//! A small threaded HTTP/1.1 server for tests: the base of the fake identity server and the echo
//! upstream.
//!
//! It binds `127.0.0.1:0`, records every request it receives exactly as it arrived (method, raw
//! target, headers in order with duplicates, the de-framed body), asks a handler what to do, and
//! stops when dropped: the accept loop ends and every open connection is shut down, so a test
//! never leaves a thread or a socket behind. Connections are kept alive like a real server's, so
//! the proxy's connection pool is exercised too.
//!
//! Every request is checked strictly as the proxy forwards it ([`super::forwarded`]): a fault
//! is printed at once and kept, and [`TestServer::requests`] (and the other readers of what
//! arrived) and the server's drop panic with it, the head's bytes in the message, so the fault
//! fails the test rather than a 502 or a timeout it may cause. A test that sends something odd
//! to it directly (a browser visiting a fake site) says so with [`TestServer::accept_direct_faults`].

// What the test helpers have always taken from here (the examples use only some of it).
use super::server_read::read_request;
use super::server_wire::write_reply;
#[allow(unused_imports)]
pub use super::server_wire::{all_headers, first_header, reason, Recorded, Reply};
use std::collections::HashMap;
use std::io::BufReader;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What the server does with a request.
pub enum Action {
    Reply(Reply),
    /// Close the connection without a byte of answer.
    Close,
    /// Never answer; hold the connection until the server is dropped.
    Hang,
}

impl From<Reply> for Action {
    fn from(r: Reply) -> Action {
        Action::Reply(r)
    }
}

/// Decides what to do with a request.
pub type Handler = Arc<dyn Fn(&Recorded) -> Action + Send + Sync>;

struct Shared {
    stop: AtomicBool,
    requests: Mutex<Vec<Recorded>>,
    /// Faults of the requests as forwarded ([`super::forwarded`]), reported loudly.
    faults: Mutex<Vec<String>>,
    /// Set by [`TestServer::accept_direct_faults`]: faults of a request without `Via` (not
    /// forwarded by the proxy) are not kept.
    lenient: AtomicBool,
    /// Open connections by id, shut down on drop (each removes itself when it ends).
    connections: Mutex<HashMap<usize, TcpStream>>,
    accepted: AtomicUsize,
    /// Connections that carried at least one request.
    used: AtomicUsize,
    /// How many requests are kept for [`TestServer::requests`], the oldest dropped first
    /// (unlimited for tests; the fake-ory example keeps running for days).
    record_limit: AtomicUsize,
    handler: Handler,
}

/// A running test server; dropping it stops it.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Binds `127.0.0.1:0`; `make_handler` gets the bound address (for servers that name their
    /// own origin in their answers).
    pub fn start(make_handler: impl FnOnce(SocketAddr) -> Handler) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        TestServer::start_on(listener, make_handler)
    }

    /// Serves on a listener bound by the caller (the fake-ory example's fixed port).
    pub fn start_on(
        listener: TcpListener,
        make_handler: impl FnOnce(SocketAddr) -> Handler,
    ) -> TestServer {
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            lenient: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            accepted: AtomicUsize::new(0),
            used: AtomicUsize::new(0),
            record_limit: AtomicUsize::new(usize::MAX),
            handler: make_handler(addr),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("test-server-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn accept thread");
        TestServer {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in arrival order; panics when one was faulty.
    pub fn requests(&self) -> Vec<Recorded> {
        self.assert_no_faults();
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.assert_no_faults();
        self.shared.requests.lock().unwrap().len()
    }

    /// The faults of the requests received so far (see [`super::forwarded`]).
    pub fn faults(&self) -> Vec<String> {
        self.shared.faults.lock().unwrap().clone()
    }

    /// Panics with every fault of the requests received so far, if any.
    pub fn assert_no_faults(&self) {
        let faults = self.faults();
        if !faults.is_empty() {
            panic!(
                "the test server at {} received {} faulty request(s):\n{}",
                self.addr,
                faults.len(),
                faults.join("\n")
            );
        }
    }

    /// Stops keeping the faults of requests that did not come through the proxy (no `Via`,
    /// which the proxy adds to every request it forwards, SPEC §9): for a server a test's
    /// browser or client also visits directly (say why where it is called). A browser's own
    /// request is not held to what the proxy must send (it sends `Connection: keep-alive`).
    pub fn accept_direct_faults(&self) {
        self.shared.lenient.store(true, Ordering::SeqCst);
    }

    /// TCP connections that carried at least one request so far (a bare connect, such as the
    /// proxy's start-up reachability check, does not count).
    pub fn connection_count(&self) -> usize {
        self.shared.used.load(Ordering::SeqCst)
    }

    /// Keeps at most `n` requests for [`TestServer::requests`], dropping the oldest.
    pub fn limit_records(&self, n: usize) {
        self.shared.record_limit.store(n, Ordering::Relaxed);
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    /// Waits (generously) until at least `n` requests arrived; panics with what did arrive.
    pub fn wait_for_requests(&self, n: usize) -> Vec<Recorded> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected {n} requests at {}, got {}: {:#?}",
                    self.addr,
                    requests.len(),
                    requests
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        for (_, c) in self.shared.connections.lock().unwrap().drain() {
            let _ = c.shutdown(Shutdown::Both);
        }
        // Already printed as they came when the test is failing anyway (a second panic would
        // abort).
        if !thread::panicking() {
            self.assert_no_faults();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let id = shared.accepted.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            shared.connections.lock().unwrap().insert(id, clone);
        }
        let shared = Arc::clone(&shared);
        let _ = thread::Builder::new()
            .name("test-server-conn".into())
            .spawn(move || {
                serve_connection(stream, &shared);
                shared.connections.lock().unwrap().remove(&id);
            });
    }
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let Ok(peer) = stream.peer_addr() else { return };
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    let mut first = true;
    loop {
        let mut faults = Vec::new();
        let read = read_request(&mut reader, &mut writer, peer, &mut faults);
        let direct = matches!(&read, Ok(Some(r)) if !r.has_header("via"));
        if direct && shared.lenient.load(Ordering::SeqCst) {
            faults.clear();
        }
        if !faults.is_empty() {
            for fault in &faults {
                eprintln!(
                    "test server at {}: {fault}",
                    writer
                        .local_addr()
                        .map_or_else(|e| e.to_string(), |a| a.to_string())
                );
            }
            shared.faults.lock().unwrap().extend(faults);
        }
        let request = match read {
            Ok(Some(r)) => r,
            Ok(None) | Err(_) => return,
        };
        if std::mem::take(&mut first) {
            shared.used.fetch_add(1, Ordering::SeqCst);
        }
        {
            let mut requests = shared.requests.lock().unwrap();
            let limit = shared.record_limit.load(Ordering::Relaxed).max(1);
            let len = requests.len();
            if len >= limit {
                requests.drain(..len + 1 - limit);
            }
            requests.push(request.clone());
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let close_after = request.version == "HTTP/1.0"
            || request
                .header_all("connection")
                .iter()
                .any(|v| v.to_ascii_lowercase().contains("close"));
        match (shared.handler)(&request) {
            Action::Close => {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Action::Hang => {
                while !shared.stop.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Action::Reply(reply) => match write_reply(&mut writer, &request, reply, &|d| {
                sleep_unless_stopped(d, shared)
            }) {
                Ok(true) if !close_after => {}
                _ => {
                    let _ = writer.shutdown(Shutdown::Both);
                    return;
                }
            },
        }
    }
}

fn sleep_unless_stopped(d: Duration, shared: &Shared) {
    let until = Instant::now() + d;
    while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
        thread::sleep(
            Duration::from_millis(10).min(until.saturating_duration_since(Instant::now())),
        );
    }
}
