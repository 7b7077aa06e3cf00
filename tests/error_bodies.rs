//! What a single-page app or API client sees of the proxy's own errors (SPEC §9, issue 17): the
//! JSON keeps Ory's shape and adds `reason`, the same words as the access line's `error=` (the
//! hop, the URL tried, the fix), and `request_id`, the id that line carries. Read with Node's
//! built-in `fetch`, as a browser app's code would.

use crate::util::external::{self, node};
use crate::util::upstream::dead_url;
use crate::util::{FakeOry, ProxyProcess, Reply, Upstream};
use serde_json::Value;
use std::time::Duration;

/// `fetch(url)` in Node: the status and the parsed JSON body.
fn fetch(url: &str) -> Option<(u64, Value)> {
    let mut cmd = node()?;
    cmd.args([
        "-e",
        "fetch(process.argv[1]).then(async r => console.log(JSON.stringify(\
         {status: r.status, type: r.headers.get('content-type'), body: await r.json()})))",
        url,
    ]);
    let out = external::run_ok(cmd, Duration::from_secs(30));
    let v: Value = serde_json::from_str(out.trim()).expect("node output");
    assert_eq!(v["type"], "application/json", "{v}");
    Some((v["status"].as_u64().unwrap(), v["body"].clone()))
}

/// Checks `body` against the ERROR access line for `path`: the same words, the same id.
fn matches_access_line(proxy: &ProxyProcess, path: &str, body: &Value) -> String {
    let reason = body["error"]["reason"].as_str().expect("reason").to_owned();
    let id = body["error"]["request_id"].as_str().expect("request_id");
    let line = proxy.wait_for_log(|l| l.contains("ERROR") && l.contains(path));
    assert!(line.contains(&format!(" id={id} ")), "{id} not in {line}");
    assert!(
        line.contains(&format!("error=\"{reason}\"")),
        "{reason}\nnot in {line}"
    );
    reason
}

#[test]
fn app_down_names_the_application_url_and_the_request_id() {
    let ory = FakeOry::start();
    let dead = dead_url();
    let proxy = ProxyProcess::start(&dead, &ory.url(), &[]);
    let Some((status, body)) = fetch(&proxy.url("/app/page")) else {
        return;
    };
    assert_eq!(status, 502);
    assert_eq!(
        body["error"]["message"]
            .as_str()
            .map(|m| m.starts_with("upstream unreachable: ")),
        Some(true),
        "{body}"
    );
    let reason = matches_access_line(&proxy, "/app/page", &body);
    assert_eq!(
        reason,
        format!("cannot reach your application at {dead} (connection refused) — is it running?")
    );
}

#[test]
fn ory_down_names_ory_url_and_the_request_id() {
    let upstream = Upstream::start();
    let dead = dead_url();
    let proxy = ProxyProcess::start(&upstream.url(), &dead, &[]);
    let Some((status, body)) = fetch(&proxy.url("/.ory/self-service/login/browser")) else {
        return;
    };
    assert_eq!(status, 502);
    let reason = matches_access_line(&proxy, "/.ory/self-service/login/browser", &body);
    assert_eq!(
        reason,
        format!("cannot reach Ory at {dead} (connection refused) — is it running?")
    );
}

#[test]
fn ory_timeout_names_ory_url_the_flag_and_the_request_id() {
    let ory = FakeOry::start();
    ory.set_hook(|_| {
        Some(
            Reply::new(200)
                .body("late")
                .delay(Duration::from_secs(5))
                .into(),
        )
    });
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--upstream-timeout", "1s"]);
    let Some((status, body)) = fetch(&proxy.url("/.ory/slow")) else {
        return;
    };
    assert_eq!(status, 504);
    let reason = matches_access_line(&proxy, "/.ory/slow", &body);
    assert!(
        reason.starts_with(&format!("Ory at {} did not answer in time (", ory.url())),
        "{reason}"
    );
    assert!(
        reason.ends_with(") — is it stuck? raise --upstream-timeout if it is just slow"),
        "{reason}"
    );
}
