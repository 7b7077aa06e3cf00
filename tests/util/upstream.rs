//! The echo upstream: a stand-in for the application behind the proxy.
//!
//! By default every request is answered `200 application/json` with a description of what
//! arrived (method, raw target, headers in order, body length and, when short UTF-8, the body),
//! so a test can check either the recorded request or the echoed answer. A hook can take over
//! any request (return `None` to fall back to the echo): custom status and headers, streamed or
//! slow bodies, a closed connection, a hang.

use super::server::{Action, Handler, Recorded, Reply, TestServer};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A hook: `Some(action)` answers the request, `None` lets the echo answer.
pub type Hook = Arc<dyn Fn(&Recorded) -> Option<Action> + Send + Sync>;

/// Bodies up to this size are copied into the echo as text.
pub const ECHO_BODY_LIMIT: usize = 64 * 1024;

pub struct Upstream {
    server: TestServer,
    hook: Arc<Mutex<Option<Hook>>>,
}

impl Upstream {
    /// Starts an echo upstream on `127.0.0.1:0`.
    pub fn start() -> Upstream {
        let hook: Arc<Mutex<Option<Hook>>> = Arc::new(Mutex::new(None));
        let h = Arc::clone(&hook);
        let server = TestServer::start(move |_| -> Handler {
            Arc::new(move |req: &Recorded| {
                let hook = h.lock().unwrap().clone();
                hook.and_then(|f| f(req))
                    .unwrap_or_else(|| Action::Reply(echo(req)))
            })
        });
        Upstream { server, hook }
    }

    /// Starts an upstream whose hook is installed from the start.
    pub fn with(hook: impl Fn(&Recorded) -> Option<Action> + Send + Sync + 'static) -> Upstream {
        let u = Upstream::start();
        u.set_hook(hook);
        u
    }

    /// Replaces the hook.
    pub fn set_hook(&self, hook: impl Fn(&Recorded) -> Option<Action> + Send + Sync + 'static) {
        *self.hook.lock().unwrap() = Some(Arc::new(hook));
    }

    /// Answers every request with clones of `reply`.
    pub fn always(&self, reply: Reply) {
        self.set_hook(move |_| Some(Action::Reply(reply.clone())));
    }

    /// See [`TestServer::accept_direct_faults`]: for an upstream that a test's browser also
    /// visits directly.
    pub fn accept_direct_faults(&self) {
        self.server.accept_direct_faults();
    }

    /// Back to plain echoing.
    pub fn clear_hook(&self) {
        *self.hook.lock().unwrap() = None;
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn request_count(&self) -> usize {
        self.server.request_count()
    }

    /// The most recent request; panics when none arrived.
    pub fn last_request(&self) -> Recorded {
        self.server
            .requests()
            .pop()
            .expect("the upstream received no request")
    }

    /// Waits until `n` requests arrived.
    pub fn wait_for_requests(&self, n: usize) -> Vec<Recorded> {
        self.server.wait_for_requests(n)
    }

    pub fn clear_requests(&self) {
        self.server.clear_requests()
    }

    pub fn connection_count(&self) -> usize {
        self.server.connection_count()
    }

    pub fn server(&self) -> &TestServer {
        &self.server
    }
}

/// A loopback URL where nothing listens (a free port outside the ephemeral range, see
/// [`super::proxy::free_port`]).
pub fn dead_url() -> String {
    format!("http://127.0.0.1:{}", super::proxy::free_port())
}

/// The echo answer for a request.
pub fn echo(req: &Recorded) -> Reply {
    let body_text = if req.body.len() <= ECHO_BODY_LIMIT {
        String::from_utf8(req.body.clone()).ok()
    } else {
        None
    };
    let description = serde_json::json!({
        "method": req.method,
        "target": req.target,
        "version": req.version,
        "headers": req.headers.iter().map(|(n, v)| [n, v]).collect::<Vec<_>>(),
        "body_len": req.body.len(),
        "body": body_text,
        "chunked": req.chunked,
    });
    Reply::new(200).json(&description)
}
