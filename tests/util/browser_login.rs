//! Signing in as a person does, in a real browser ([`super::webdriver`]) on the fake Ory's pages
//! served through a proxy.

use super::webdriver::Browser;

/// Waits for the fake Ory's `kind` page (`login` or `registration`) and asserts the browser is
/// on it at the public URL `public` (`{public}/.ory/ui/{kind}?flow=…`). Returns that URL.
pub fn wait_for_flow_page(browser: &Browser, public: &str, kind: &str) -> String {
    browser.wait_for("input[name=identifier]");
    let url = browser.url();
    assert!(
        url.starts_with(&format!("{public}/.ory/ui/{kind}?flow=")),
        "not on the {kind} page of {public}: {url}"
    );
    url
}

/// Fills the page's email and password fields and submits the form (signs in on the login
/// page, signs up on the registration page).
pub fn submit_password_form(browser: &Browser, email: &str, password: &str) {
    browser.type_into(&browser.wait_for("input[name=identifier]"), email);
    browser.type_into(&browser.wait_for("input[name=password]"), password);
    browser.click(&browser.wait_for("button[type=submit]"));
}
