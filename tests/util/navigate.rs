//! A browser's navigation, as the proxy tells it from any other request: a `GET` with the
//! `Accept` field Chromium sends for a page.

use super::client::{Req, Resp};
use super::Stack;

/// Chromium's `Accept` for a navigation.
pub const CHROME_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";

/// Navigates to `path` on the stack's proxy, with `cookie` as the `Cookie` field when given.
pub fn navigate(s: &Stack, path: &str, cookie: Option<&str>) -> Resp {
    let mut r = Req::get(&s.proxy.url(path)).header("Accept", CHROME_ACCEPT);
    if let Some(c) = cookie {
        r = r.header("Cookie", c);
    }
    r.send()
}
