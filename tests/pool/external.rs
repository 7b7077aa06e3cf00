//! The same through a client the project did not write: Python `requests`, one keep-alive
//! `Session` per user (anonymous and three signed in), interleaved, against the raw upstream
//! writing late, too-long and 408 stray answers between ordinary ones.

use super::{PoolStack, STRAY_WARNING};
use crate::util::external;
use serde_json::Value;
use std::time::Duration;

/// For each round and each user: a misbehaving request, then ordinary ones from everyone;
/// prints one JSON line per request (the path asked, the status, the echo, the cookies).
const SCRIPT: &str = r#"
import json, sys, time, requests
base, cookies = sys.argv[1], json.loads(sys.argv[2])
sessions = []
for c in cookies:
    s = requests.Session()
    if c:
        s.headers["Cookie"] = c
    sessions.append(s)
out = []
for rnd in range(6):
    kind = ["late", "long", "408"][rnd % 3]
    for who, s in enumerate(sessions):
        for path in [f"/{kind}/{rnd}/{who}", f"/plain/{rnd}/{who}"]:
            r = s.get(base + path, timeout=30)
            out.append({"who": who, "path": path, "status": r.status_code, "body": r.text,
                        "cookies": r.headers.get("set-cookie", "")})
            # Past a late stray's arrival (see assert_everyone_paced).
            time.sleep(0.1)
print(json.dumps(out))
"#;

#[test]
fn python_requests_sessions_each_get_their_own_answers() {
    let Some(mut cmd) = external::python() else {
        return;
    };
    let stack = PoolStack::start(&[]);
    let cookies: Vec<String> = std::iter::once(String::new())
        .chain(stack.users.iter().map(|u| u.cookie()))
        .collect();
    cmd.args([
        "-c",
        SCRIPT,
        &stack.proxy.url(""),
        &serde_json::to_string(&cookies).unwrap(),
    ]);
    let stdout = external::run_ok(cmd, Duration::from_secs(120));
    let results: Vec<Value> = serde_json::from_str(stdout.trim()).expect("script output");
    assert_eq!(results.len(), 6 * 4 * 2);
    for r in &results {
        let (path, body) = (r["path"].as_str().unwrap(), r["body"].as_str().unwrap());
        super::assert_clean(0, body, r["cookies"].as_str().unwrap());
        assert_eq!(r["status"], 200, "{r}");
        let echo: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {r}"));
        assert_eq!(echo["path"], path, "{r}");
        let who = r["who"].as_u64().unwrap() as usize;
        let user = who.checked_sub(1).map(|i| &stack.users[i]);
        stack.assert_identity(
            &echo["authorization"].as_str().map(str::to_owned),
            user,
            path,
        );
        stack.assert_seen_as(path, user);
    }
    assert_eq!(stack.stray_warnings(), 1, "{}", stack.proxy.stderr());
    assert!(stack.proxy.stderr().contains(STRAY_WARNING));
}
