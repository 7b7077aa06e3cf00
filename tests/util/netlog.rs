//! The browser's own network log, as chromedriver hands it over: its `performance` log (asked for
//! with the capability `"goog:loggingPrefs": {"performance": "ALL"}` and read with
//! `POST /session/{id}/se/log {"type": "performance"}`) is a list of DevTools events, each
//! `{"message": "<JSON text>"}` whose text is `{"message": {"method": …, "params": …}}`.
//!
//! Only the `Network` events matter here: `Network.responseReceived` says what came back
//! (`params.response.status` and `.url`, `params.type` the kind of resource), and
//! `Network.requestWillBeSent` / `Network.loadingFinished` / `Network.loadingFailed` say which
//! requests are still on their way. Unlike a server's access log this sees everything the
//! browser asked for, wherever it went: the icon, a page's scripts, its `fetch`es.

use serde_json::Value;
use std::collections::HashSet;
use std::fmt::Write;

/// One response the browser received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub url: String,
    /// DevTools' resource type: `Document`, `Script`, `Fetch`, `Other` (the icon)...
    pub kind: String,
}

/// The events read so far.
#[derive(Default)]
pub struct NetLog {
    responses: Vec<Response>,
    /// Request ids sent and neither finished nor failed yet.
    in_flight: HashSet<String>,
}

impl NetLog {
    /// Takes one entry of the performance log; anything but the `Network` events above is
    /// ignored.
    pub fn add(&mut self, entry: &Value) {
        let Some(text) = entry["message"].as_str() else {
            return;
        };
        let Ok(event) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let (method, params) = (&event["message"]["method"], &event["message"]["params"]);
        let id = params["requestId"].as_str().unwrap_or_default().to_owned();
        match method.as_str().unwrap_or_default() {
            "Network.requestWillBeSent" => {
                self.in_flight.insert(id);
            }
            "Network.loadingFinished" | "Network.loadingFailed" => {
                self.in_flight.remove(&id);
            }
            "Network.responseReceived" => {
                let response = &params["response"];
                let url = response["url"].as_str().unwrap_or_default();
                // Chromium's own pages (the first tab's chrome://) are not the test's.
                if url.starts_with("http://") || url.starts_with("https://") {
                    self.responses.push(Response {
                        status: response["status"]
                            .as_u64()
                            .and_then(|s| u16::try_from(s).ok())
                            .unwrap_or(0),
                        url: url.to_owned(),
                        kind: params["type"].as_str().unwrap_or_default().to_owned(),
                    });
                }
            }
            _ => {}
        }
    }

    /// How many requests are still on their way.
    pub fn pending(&self) -> usize {
        self.in_flight.len()
    }

    pub fn responses(&self) -> &[Response] {
        &self.responses
    }
}

/// One line per response, `  STATUS KIND URL`, for assertion messages.
pub fn listing(responses: &[Response]) -> String {
    let mut out = String::new();
    for r in responses {
        let _ = writeln!(out, "  {} {} {}", r.status, r.kind, r.url);
    }
    out
}
