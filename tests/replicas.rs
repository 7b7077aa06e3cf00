//! Several proxies behind a round-robin nginx (`examples/nginx-replicas.conf`), sharing one key
//! file: every token, whichever replica minted it, verifies with the JWKS of either replica.

use crate::util::files::TempDir;
use crate::util::nginx::Nginx;
use crate::util::{jwt, proxy::bearer_of, run_cli, FakeOry, ProxyProcess, Req, Upstream};

fn minted(proxy: &ProxyProcess) -> f64 {
    let page = Req::get(&proxy.url("/.ory/proxy/metrics")).send().text();
    page.lines()
        .find_map(|l| l.strip_prefix("ory_proxy_tokens_minted_total "))
        .expect("tokens minted")
        .parse()
        .expect("number")
}

#[test]
fn tokens_from_either_replica_verify_with_the_jwks_of_either() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let dir = TempDir::new("replicas");
    let generated = run_cli(&["--generate-jwks"], &[]);
    assert_eq!(generated.code, Some(0), "{}", generated.stderr);
    let keys = dir.write("jwks.json", &generated.stdout);
    let keys = keys.to_str().unwrap();
    let replica = || {
        ProxyProcess::start(
            &upstream.url(),
            &ory.url(),
            &["--jwks-file", keys, "--metrics", "--log-format", "json"],
        )
    };
    let (a, b) = (replica(), replica());
    let Some(lb) = Nginx::start(&[a.addr, b.addr]) else {
        return;
    };

    // The replicas publish the same keys.
    let (jwks_a, jwks_b) = (jwt::fetch_jwks(&a), jwt::fetch_jwks(&b));
    assert_eq!(jwks_a, jwks_b);

    // Signed-in requests through nginx, one new session each (no cache or token reuse).
    let mut tokens = Vec::new();
    for i in 0..6 {
        let session = ory.create_session(&format!("user{i}@example.org"));
        let r = Req::get(&lb.url(&format!("/page/{i}")))
            .header("Cookie", &session.cookie())
            .send();
        assert_eq!(r.status, 200, "{}\nnginx: {}", r.text(), lb.error_log());
        let token = bearer_of(&upstream.last_request()).expect("a token");
        tokens.push((token, session.identity_id));
    }
    // Round robin: both replicas minted tokens, three each.
    assert_eq!((minted(&a), minted(&b)), (3.0, 3.0));

    let jwks_via_lb: serde_json::Value = Req::get(&lb.url("/.ory/jwks.json")).send().json();
    for (token, identity) in &tokens {
        for jwks in [&jwks_a, &jwks_b, &jwks_via_lb] {
            let verified = jwt::verify_with_jwks(jwks, token);
            assert_eq!(&verified.claims["sub"], identity);
        }
    }

    // Health and the request id pass through nginx as well.
    assert_eq!(
        Req::get(&lb.url("/.ory/proxy/health/ready")).send().status,
        200
    );
    let r = Req::get(&lb.url("/with-id")).send();
    assert_eq!(r.status, 200);
    let id = upstream
        .last_request()
        .header("x-request-id")
        .expect("nginx's request id")
        .to_owned();
    assert_eq!(id.len(), 32, "nginx's $request_id: {id}");
    let logged = format!("\"request_id\":\"{id}\"");
    // The access line is written once the response is out: wait for it.
    crate::util::wait_until(&format!("a replica to log {id}"), || {
        let served_by = [&a, &b]
            .iter()
            .filter(|p| p.stderr().contains(&logged))
            .count();
        (served_by == 1).then_some(())
    });
}

#[test]
fn the_browsers_address_reaches_the_application_through_a_trusted_nginx() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    // nginx connects to the replicas from 127.0.0.3 (the browser here is 127.0.0.1), and the
    // replicas trust exactly that address, as the example's comment says to.
    let replica = || {
        ProxyProcess::start(
            &upstream.url(),
            &ory.url(),
            &["--trusted-proxies", "127.0.0.3", "--log-format", "json"],
        )
    };
    let (a, b) = (replica(), replica());
    let Some(lb) = Nginx::start_bound(&[a.addr, b.addr], Some([127, 0, 0, 3].into())) else {
        return;
    };
    for i in 0..2 {
        let r = Req::get(&lb.url(&format!("/who/{i}"))).send();
        assert_eq!(r.status, 200, "{}\nnginx: {}", r.text(), lb.error_log());
        let seen = upstream.last_request();
        assert_eq!(
            seen.header("x-forwarded-for"),
            Some("127.0.0.1, 127.0.0.3"),
            "the browser's address, then nginx's"
        );
        assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
        assert_eq!(seen.header("x-forwarded-host"), Some("127.0.0.1"));
    }
    // Both replicas served one request each and logged the browser as the client.
    crate::util::wait_until("both replicas to log the browser's address", || {
        [&a, &b]
            .iter()
            .all(|p| {
                p.stderr().lines().any(|l| {
                    l.contains("\"path\":\"/who/") && l.contains("\"client\":\"127.0.0.1\"")
                })
            })
            .then_some(())
    });
}
