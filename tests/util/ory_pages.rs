//! The HTML pages of the fake identity server's browser flows: sign-in and sign-up forms that
//! look like an identity provider's (a heading, labelled fields, a hint at what the fake
//! accepts), so that the playground and the browser tests click through something real.
//!
//! Field names, the form's action and the links name the fake's own origin exactly as Kratos'
//! UI does, so the proxy's body rewriting is exercised by every page.

/// Where Kratos' pages load their WebAuthn script from; the fake serves a stand-in.
pub const WEBAUTHN_JS_PATH: &str = "/.well-known/ory/webauthn.js";
/// The stand-in: the fake has no passkeys, but the page loads the script as Kratos' does.
pub const WEBAUTHN_JS: &str =
    "// The fake identity server has no WebAuthn; this stands in for Kratos' script.\n";

/// The page of a `login` or `registration` flow; `action` is the absolute URL to POST to;
/// `return_to`, when the flow has one, is said on the page (and kept by the link to the other
/// flow), so the user knows where signing in leads.
pub fn flow_page(
    origin: &str,
    kind: &str,
    action: &str,
    csrf: &str,
    return_to: Option<&str>,
) -> String {
    let carry = return_to
        .map(|r| format!("?return_to={}", encode_component(r)))
        .unwrap_or_default();
    let (title, button, other) = if kind == "registration" {
        (
            "Create an account",
            "Sign up",
            format!(
                "Already have an account? <a href=\"{origin}/self-service/login/browser{carry}\">Sign in</a>"
            ),
        )
    } else {
        (
            "Sign in",
            "Sign in",
            format!(
                "No account yet? <a id=\"signup\" href=\"{origin}/self-service/registration/browser{carry}\">Create one</a>"
            ),
        )
    };
    let going = return_to
        .map(|r| {
            format!(
                "<p class=\"going\">Afterwards you go back to <code>{}</code></p>",
                escape(r)
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"icon\" href=\"data:,\">\
         <script src=\"{origin}{WEBAUTHN_JS_PATH}\"></script>\
         <style>{STYLE}</style></head><body><main class=\"card\">\
         <p class=\"brand\">Fake Ory <span>identity server for tests and the playground</span></p>\
         <h1>{title}</h1>{going}\
         <form action=\"{action}\" method=\"POST\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
         <label for=\"identifier\">Email</label>\
         <input id=\"identifier\" name=\"identifier\" type=\"email\" autocomplete=\"email\" \
         placeholder=\"demo@example.org\" required>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" \
         placeholder=\"demo\" required>\
         <button type=\"submit\">{button}</button></form>\
         <p class=\"hint\">This fake accepts any email and password, e.g. \
         <code>demo@example.org</code> / <code>demo</code>.</p>\
         <p class=\"other\">{other}</p></main></body></html>"
    )
}

/// Text for HTML content and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A query value, percent-encoded (everything but unreserved characters).
fn encode_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(super) const STYLE: &str = "body{margin:0;min-height:100vh;display:flex;align-items:center;\
justify-content:center;background:#f3f4f8;font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;\
color:#1f2430}.card{background:#fff;width:22rem;padding:2rem 2.2rem;border-radius:12px;\
box-shadow:0 4px 24px rgba(20,24,40,.12)}.brand{margin:0 0 1rem;font-weight:700;color:#5a3fd6}\
.brand span{display:block;font-weight:400;font-size:.8rem;color:#7a7f8c}h1{font-size:1.5rem;\
margin:0 0 1.2rem}label{display:block;font-size:.9rem;font-weight:600;margin:.8rem 0 .3rem}\
input[type=email],input[type=password]{box-sizing:border-box;width:100%;padding:.6rem .7rem;\
border:1px solid #c9ccd6;border-radius:6px;font:inherit}button{margin-top:1.3rem;width:100%;\
padding:.7rem;border:0;border-radius:6px;background:#5a3fd6;color:#fff;font:inherit;\
font-weight:600;cursor:pointer}.hint{font-size:.85rem;color:#5b6170;margin:1.2rem 0 0}\
.other{font-size:.9rem;margin:.8rem 0 0}a{color:#5a3fd6;font-weight:600;\
text-decoration:none}a:hover{text-decoration:underline}.going{font-size:.9rem;color:#5b6170;\
margin:-.6rem 0 .4rem}.going code{word-break:break-all}code{background:#f0f1f5;padding:0 .25rem;border-radius:3px}";
