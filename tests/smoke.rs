//! The harness works end to end: a signed-in request reaches the echo upstream with a token
//! that verifies against the served JWKS.

use crate::util::{jwt, proxy::bearer_of, FakeOry, ProxyProcess, Req, Upstream};

#[test]
fn signed_in_request_gets_a_verified_token() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let session = ory.create_session("alice@example.org");

    let r = Req::get(&proxy.url("/hello"))
        .header("Cookie", &session.cookie())
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = upstream.last_request();
    let token = bearer_of(&seen).expect("the upstream got a bearer token");
    let verified = jwt::verify(&proxy, &token);
    assert_eq!(verified.claims["sub"], session.identity_id);
    assert_eq!(ory.whoami_calls(), 1);
}
