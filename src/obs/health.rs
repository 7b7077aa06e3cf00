//! Liveness and readiness for orchestrators and load balancers.
//!
//! `/.ory/proxy/health/alive` answers 200 whenever a connection thread can run it: the process is up and
//! serving. `/.ory/proxy/health/ready` answers 200 only when both next hops, Ory and the upstream,
//! accept a TCP connection, and 503 naming the one that does not, so a load balancer stops sending
//! traffic to a replica that could only answer 502.
//!
//! A TCP connect (with a short timeout) is the check rather than an HTTP request: it needs no
//! knowledge of the application's routes, costs no request in its logs, and fails exactly when
//! forwarding would fail to connect. It does not prove the application answers correctly; that
//! is the application's own probe. Both hops are tried at once, and the result is kept for
//! [`READY_CACHE`], so a flood of probes (the endpoint is public) cannot become a flood of
//! connections, and concurrent probes wait for one check instead of starting their own.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one connection attempt may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a readiness result is reused.
pub const READY_CACHE: Duration = Duration::from_secs(1);

/// The outcome of one readiness check: the hops that did not answer, with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub failures: Vec<(&'static str, String)>,
}

impl Report {
    /// 200 when every hop answered, 503 otherwise.
    pub fn status(&self) -> u16 {
        if self.failures.is_empty() {
            200
        } else {
            503
        }
    }

    /// `{"status":"ok"}` or `{"status":"unavailable","errors":{"ory":"…","upstream":"…"}}`.
    pub fn json(&self) -> String {
        if self.failures.is_empty() {
            return r#"{"status":"ok"}"#.to_owned();
        }
        let errors: serde_json::Map<String, serde_json::Value> = self
            .failures
            .iter()
            .map(|(name, why)| ((*name).to_owned(), serde_json::Value::from(why.as_str())))
            .collect();
        serde_json::json!({"status": "unavailable", "errors": errors}).to_string()
    }
}

/// The readiness checker of one proxy: the two addresses and the last result.
pub struct Readiness {
    /// `host:port` of Ory and of the upstream (none in tunnel mode: nothing goes there).
    ory: String,
    upstream: Option<String>,
    last: Mutex<Option<(Instant, Report)>>,
}

impl Readiness {
    /// `ory` and `upstream` are `host:port`; `upstream` is `None` when nothing is forwarded
    /// there (tunnel mode).
    pub fn new(ory: String, upstream: Option<String>) -> Readiness {
        Readiness {
            ory,
            upstream,
            last: Mutex::new(None),
        }
    }

    /// Checks both hops, or returns the result of a check made less than [`READY_CACHE`] ago.
    pub fn check(&self) -> Report {
        // Holding the lock through the check makes concurrent probes share one check. A panic
        // cannot happen while it is held, but a poisoned lock still holds a usable value.
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, report)) = last.as_ref() {
            if at.elapsed() < READY_CACHE {
                return report.clone();
            }
        }
        let (ory, upstream) = std::thread::scope(|s| {
            let ory = s.spawn(|| probe(&self.ory, PROBE_TIMEOUT));
            let upstream = match &self.upstream {
                Some(upstream) => probe(upstream, PROBE_TIMEOUT),
                None => Ok(()),
            };
            let ory = ory
                .join()
                .unwrap_or_else(|_| Err("the check failed".to_owned()));
            (ory, upstream)
        });
        let mut report = Report::default();
        if let Err(why) = ory {
            report.failures.push(("ory", why));
        }
        if let Err(why) = upstream {
            report.failures.push(("upstream", why));
        }
        *last = Some((Instant::now(), report.clone()));
        report
    }
}

/// Connects to `addr` (`host:port`), trying each resolved address until one accepts.
pub fn probe(addr: &str, timeout: Duration) -> Result<(), String> {
    let addrs = addr
        .to_socket_addrs()
        .map_err(|e| format!("{addr}: cannot resolve: {e}"))?;
    let mut last = format!("{addr}: no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn probe_tells_open_from_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().to_string();
        assert_eq!(probe(&open, PROBE_TIMEOUT), Ok(()));
        drop(listener);
        let e = probe(&open, PROBE_TIMEOUT).unwrap_err();
        assert!(e.starts_with(&open), "{e}");
        let e = probe("no-such-host.invalid:80", PROBE_TIMEOUT).unwrap_err();
        assert!(e.contains("cannot resolve"), "{e}");
    }

    #[test]
    fn report_json() {
        assert_eq!(Report::default().status(), 200);
        assert_eq!(Report::default().json(), r#"{"status":"ok"}"#);
        let r = Report {
            failures: vec![("ory", "127.0.0.1:1: refused".into())],
        };
        assert_eq!(r.status(), 503);
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["status"], "unavailable");
        assert_eq!(v["errors"]["ory"], "127.0.0.1:1: refused");
        assert!(v["errors"].get("upstream").is_none());
    }
}
