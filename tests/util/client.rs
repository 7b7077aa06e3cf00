//! A plain HTTP client for tests, and raw-TCP helpers for requests no client library would send.
//!
//! The client follows no redirects, treats every status as an answer, ignores proxy variables,
//! adds no `User-Agent`/`Accept` of its own, and reads whole bodies without a size limit. A
//! fresh agent per request keeps tests independent of each other's pooled connections.

pub use super::raw_response::RawResponse;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use ureq::config::AutoHeaderValue;

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    /// Lowercased names, in order, duplicates kept.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        super::server::first_header(&self.headers, name)
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        super::server::all_headers(&self.headers, name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {} {}", self.status, self.text()))
    }

    /// Asserts the proxy's own JSON error shape with this status; returns the message.
    pub fn assert_proxy_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "error content-type: {:?}",
            self.header("content-type")
        );
        let v = self.json();
        assert_eq!(v["error"]["code"], status, "{v}");
        assert!(v["error"]["status"].is_string(), "{v}");
        v["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message: {v}"))
            .to_owned()
    }
}

/// The agent used by [`Req`].
pub fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .user_agent(AutoHeaderValue::None)
        .accept(AutoHeaderValue::None)
        .accept_encoding(AutoHeaderValue::None)
        .allow_non_standard_methods(true)
        .timeout_global(Some(Duration::from_secs(60)))
        .build();
    ureq::Agent::new_with_config(config)
}

enum ReqBody {
    None,
    Bytes(Vec<u8>),
    /// Sent chunked (no length known up front).
    Reader(Box<dyn Read + Send>),
}

/// A request under construction: `Req::get(url).header("Cookie", c).send()`.
pub struct Req {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: ReqBody,
}

impl Req {
    pub fn new(method: &str, url: &str) -> Req {
        Req {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: ReqBody::None,
        }
    }

    pub fn get(url: &str) -> Req {
        Req::new("GET", url)
    }

    pub fn post(url: &str) -> Req {
        Req::new("POST", url)
    }

    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A body sent with `Content-Length`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Req {
        self.body = ReqBody::Bytes(body.into());
        self
    }

    /// A body sent chunked.
    pub fn chunked_body(mut self, reader: impl Read + Send + 'static) -> Req {
        self.body = ReqBody::Reader(Box::new(reader));
        self
    }

    /// Sends it and reads the whole answer; panics on a transport error.
    pub fn send(self) -> Resp {
        let what = format!("{} {}", self.method, self.url);
        self.try_send()
            .unwrap_or_else(|e| panic!("{what} failed: {e}"))
    }

    /// Sends it and reads the whole answer.
    pub fn try_send(self) -> Result<Resp, ureq::Error> {
        let mut builder = ureq::http::Request::builder()
            .method(self.method.as_str())
            .uri(self.url.as_str());
        for (n, v) in &self.headers {
            builder = builder.header(n.as_str(), v.as_str());
        }
        let agent = agent();
        let response = match self.body {
            ReqBody::None => agent.run(builder.body(()).expect("request")),
            ReqBody::Bytes(b) => agent.run(builder.body(b).expect("request")),
            ReqBody::Reader(r) => {
                let body = ureq::SendBody::from_owned_reader(r);
                agent.run(builder.body(body).expect("request"))
            }
        }?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .into_body()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()?;
        Ok(Resp {
            status,
            headers,
            body,
        })
    }
}

/// `GET url` with optional headers.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Resp {
    headers
        .iter()
        .fold(Req::get(url), |r, (n, v)| r.header(n, v))
        .send()
}

/// Writes `request` as is on a fresh connection and reads until the server closes it (or 30 s
/// pass; whatever arrived by then is returned). Send `Connection: close` to get a prompt end.
pub fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(request).expect("write request");
    read_until_close(&mut stream, Duration::from_secs(30))
}

/// Reads until EOF, an error, or `timeout`.
pub fn read_until_close(stream: &mut TcpStream, timeout: Duration) -> Vec<u8> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = stream.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}
