//! The demo application's pages: signed out (sign in or create an account), signed in (who,
//! the `Authorization` header as received, the token's times in words, and what just happened
//! between the browser, the proxy, Ory and this app), and a rejected token.

use serde_json::Value;

/// What the signed-in page shows.
pub struct SignedIn<'a> {
    pub public: &'a str,
    /// The `Authorization` header exactly as the app received it.
    pub authorization: &'a str,
    pub header: &'a Value,
    pub claims: &'a Value,
    /// Now, in Unix seconds.
    pub now: i64,
}

/// A whole page: a top bar (with `right` in it), then `body`.
pub fn layout(right: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>ory-proxy playground</title>\
         <link rel=\"icon\" type=\"image/svg+xml\" href=\"/favicon.svg\"><style>{STYLE}</style></head><body>\
         <header><span class=\"brand\">ory-proxy playground</span>\
         <span class=\"right\">{right}</span></header><main>{body}</main></body></html>"
    )
}

/// Signed out: the proxy sent no token.
pub fn signed_out(public: &str, demo: (&str, &str)) -> String {
    let back = url_encode(&format!("{public}/"));
    let login = format!("/.ory/self-service/login/browser?return_to={back}");
    let signup = format!("/.ory/self-service/registration/browser?return_to={back}");
    layout(
        &format!("<a id=\"signin-top\" class=\"button\" href=\"{login}\">Sign in</a>"),
        &format!(
            "<h1 id=\"anon\">You are not signed in</h1>\
             <p>The proxy sent this app no <code>Authorization</code> header: your browser has \
             no Ory session yet.</p>\
             <p class=\"actions\"><a id=\"signin\" class=\"button\" href=\"{login}\">Sign in</a>\
             <a id=\"signup\" class=\"button secondary\" href=\"{signup}\">Create an account</a></p>\
             <p class=\"muted\">Demo account: <code>{}</code> / <code>{}</code> (the fake \
             identity server accepts any email and password).</p>\
             <section class=\"explain\"><h2>What will happen</h2><ol>\
             <li>The sign-in page is Ory's, served by the proxy under <code>/.ory/</code> on \
             this same origin.</li>\
             <li>Ory sets its session cookie for this origin, and sends you back here.</li>\
             <li>From then on, the proxy turns that cookie into a signed token on every request \
             to this app.</li></ol></section>",
            escape(demo.0),
            escape(demo.1)
        ),
    )
}

/// Signed in: who, what happened, the header, the times.
pub fn signed_in(s: &SignedIn<'_>) -> String {
    let c = s.claims;
    let email = c["session"]["identity"]["traits"]["email"]
        .as_str()
        .unwrap_or("(no email)");
    let kid = s.header["kid"].as_str().unwrap_or("");
    let time = |name: &str| -> String {
        let Some(t) = c[name].as_i64() else {
            return "(missing)".to_owned();
        };
        let iso = super::rfc3339(t);
        let delta = t - s.now;
        let words = match (name, delta) {
            ("exp", d) if d >= 0 => format!("expires in {d} s"),
            ("exp", d) => format!("expired {} s ago", -d),
            (_, d) if d <= 0 => format!("{} s ago", -d),
            (_, d) => format!("in {d} s"),
        };
        format!("{iso} <span class=\"muted\">({words})</span>")
    };
    let claims = serde_json::to_string_pretty(c).unwrap_or_default();
    layout(
        &format!(
            "{} <a id=\"signout\" class=\"button\" href=\"/logout\">Sign out</a>",
            escape(email)
        ),
        &format!(
            "<h1>Signed in as <b>{email}</b></h1>\
             <section class=\"explain\" id=\"explain\"><h2>What just happened</h2><ol>\
             <li>You signed in at Ory, through the proxy under <code>/.ory/</code>; your \
             browser now holds Ory's session cookie for <code>{public}</code>.</li>\
             <li>For this page, the proxy sent that cookie to Ory's \
             <code>/sessions/whoami</code> and got your session back.</li>\
             <li>It put the session into a JSON Web Token, signed it (ES256, key \
             <code>{kid}</code>) and sent it to this app as the <code>Authorization</code> \
             header.</li>\
             <li>This app verified it with the proxy's public keys at \
             <a href=\"/.ory/jwks.json\">/.ory/jwks.json</a>: it never talks to Ory itself.</li>\
             </ol></section>\
             <h2>The <code>Authorization</code> header this app received</h2>\
             <pre id=\"authorization\" class=\"token\">{authorization}</pre>\
             <table><tr><th>identity (<code>sub</code>)</th><td><code>{sub}</code></td></tr>\
             <tr><th>issued (<code>iat</code>)</th><td>{iat}</td></tr>\
             <tr><th>expires (<code>exp</code>)</th><td>{exp}</td></tr>\
             <tr><th>issuer (<code>iss</code>)</th><td><code>{iss}</code></td></tr></table>\
             <p class=\"muted\">The proxy reuses a token while more than half of its lifetime \
             is left, so reloading shows the same one for a while, then a fresh one.</p>\
             <details><summary>All claims</summary><pre>{claims}</pre></details>",
            email = escape(email),
            public = escape(s.public),
            kid = escape(kid),
            authorization = escape(s.authorization),
            sub = escape(c["sub"].as_str().unwrap_or("")),
            iat = time("iat"),
            exp = time("exp"),
            iss = escape(c["iss"].as_str().unwrap_or("")),
            claims = escape(&claims),
        ),
    )
}

/// The token did not verify.
pub fn rejected(why: &str) -> String {
    layout(
        "<a class=\"button\" href=\"/logout\">Sign out</a>",
        &format!(
            "<h1>The token was <b>rejected</b></h1><p>{}</p>",
            escape(why)
        ),
    )
}

/// Percent-encodes a URL for a query value.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{margin:0;background:#f3f4f8;color:#1f2430;\
font:16px/1.55 system-ui,-apple-system,'Segoe UI',sans-serif}header{display:flex;\
justify-content:space-between;align-items:center;padding:.7rem 1.5rem;background:#fff;\
border-bottom:1px solid #e1e3ea}.brand{font-weight:700;color:#5a3fd6}.right{display:flex;\
gap:.8rem;align-items:center;font-size:.95rem}main{max-width:50rem;margin:2rem auto;\
padding:0 1.5rem}h1{font-size:1.6rem;margin:.2rem 0 1.2rem}h2{font-size:1.05rem;margin:1.6rem 0 .5rem}\
.button{display:inline-block;padding:.45rem .95rem;border-radius:6px;background:#5a3fd6;color:#fff;\
text-decoration:none;font-weight:600}.button.secondary{background:#fff;color:#5a3fd6;\
border:1px solid #5a3fd6}.actions{display:flex;gap:.8rem}.explain{background:#fff;\
border-left:4px solid #5a3fd6;border-radius:6px;padding:.3rem 1.2rem .6rem;\
box-shadow:0 1px 6px rgba(20,24,40,.08)}.explain h2{margin-top:.8rem}.explain li{margin:.3rem 0}\
pre{background:#1f2430;color:#e6e8ef;padding:.9rem 1rem;border-radius:6px;overflow:auto;\
font-size:.8rem}pre.token{white-space:pre-wrap;word-break:break-all;max-height:7.5rem}\
table{border-collapse:collapse;background:#fff;border-radius:6px;margin-top:1rem;width:100%}\
th,td{text-align:left;padding:.4rem .8rem;border-bottom:1px solid #eceef3;font-size:.92rem;\
vertical-align:top}th{font-weight:600;white-space:nowrap;width:11rem}\
code{background:#eceef4;padding:0 .25rem;border-radius:3px;font-size:.9em}pre code{background:none}\
.muted{color:#6a7080;font-size:.9rem}details{margin-top:1rem}summary{cursor:pointer;font-weight:600}";

/// The demo app's icon: a key on the playground's purple.
pub const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">\
<rect width=\"32\" height=\"32\" rx=\"7\" fill=\"#5a3fd6\"/>\
<circle cx=\"12\" cy=\"16\" r=\"5\" fill=\"none\" stroke=\"#fff\" stroke-width=\"3\"/>\
<path d=\"M17 16h10M23 16v4M26 16v3\" stroke=\"#fff\" stroke-width=\"3\"/></svg>\n";
