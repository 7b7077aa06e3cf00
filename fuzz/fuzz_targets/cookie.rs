//! `Set-Cookie` rewriting on arbitrary values: no panic, no header injection, the cookie's
//! `name=value` kept, `Secure` exactly when the public URL is https, and idempotence.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    for setup in common::setups() {
        let out = setup.rewriter.set_cookie(value);
        if !value.contains(['\r', '\n']) {
            assert!(!out.contains(['\r', '\n']), "{value:?} -> {out:?}");
        }
        // The name=value pair (everything before the first ';') is kept byte for byte.
        let pair = value.split(';').next().unwrap_or("");
        assert!(
            out.starts_with(pair.trim()) || out.starts_with(pair),
            "{value:?} -> {out:?}"
        );
        let secure = out
            .split(';')
            .skip(1)
            .any(|a| a.trim().eq_ignore_ascii_case("secure"));
        assert_eq!(
            secure,
            setup.config.public.is_https(),
            "{value:?} -> {out:?}"
        );
        assert_eq!(
            setup.rewriter.set_cookie(&out),
            out,
            "not idempotent: {value:?}"
        );
    }
});
