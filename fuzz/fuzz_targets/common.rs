//! Rewriters over fixed configurations shared by the cookie and Location targets.

use ory_proxy::config::RawArgs;
use ory_proxy::config::Config;
use ory_proxy::rewrite::{Places, Rewriter};
use std::sync::OnceLock;

pub struct Setup {
    pub rewriter: Rewriter,
    pub config: Config,
}

fn build(public: &str, cookie_domain: Option<&str>, sdk: &str) -> Setup {
    let raw = RawArgs {
        upstream: Some("http://127.0.0.1:3000".into()),
        public_url: Some(public.into()),
        sdk_url: Some(sdk.into()),
        cookie_domain: cookie_domain.map(str::to_owned),
        ..RawArgs::default()
    };
    let config = Config::from_raw(&raw, &|_| None).expect("valid fuzz configuration");
    Setup {
        rewriter: Rewriter::new(&Places {
            public: &config.public,
            sdk: &config.sdk,
            sdk_path: &config.sdk_path,
            upstream: &config.upstream,
            ory_prefix: config.ory_prefix(),
            default_redirect_url: &config.default_redirect_url,
            cookie_domain: config.cookie_domain.as_deref(),
        }),
        config,
    }
}

/// An https public URL with a cookie domain, and a plain-http one without (with an SDK path).
pub fn setups() -> &'static [Setup] {
    static SETUPS: OnceLock<Vec<Setup>> = OnceLock::new();
    SETUPS.get_or_init(|| {
        vec![
            build(
                "https://app.example.org",
                Some("example.org"),
                "https://slug.projects.oryapis.com",
            ),
            build(
                "http://localhost:4000",
                None,
                "http://127.0.0.1:4433/kratos",
            ),
        ]
    })
}
