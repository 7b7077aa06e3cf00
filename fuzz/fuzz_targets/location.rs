//! `Location` and Ory body rewriting on arbitrary input: no panic, no header injection, a
//! rewritten `Location` always lands on the public origin (or the default redirect), and a
//! rewritten body names the SDK URL only inside longer names.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for setup in common::setups() {
        let public = &setup.config.public.origin;
        if let Ok(location) = std::str::from_utf8(data) {
            for out in [
                setup.rewriter.ory_location(location),
                setup.rewriter.upstream_location(location),
            ]
            .into_iter()
            .flatten()
            {
                assert!(
                    out == setup.config.default_redirect_url
                        || out == *public
                        || out.starts_with(&format!("{public}/"))
                        || out.starts_with(&format!("{public}?"))
                        || out.starts_with(&format!("{public}#")),
                    "{location:?} -> {out:?}"
                );
                if !location.contains(['\r', '\n']) {
                    assert!(!out.contains(['\r', '\n']), "{location:?} -> {out:?}");
                }
            }
        }
        if let Some(body) = setup.rewriter.body(data) {
            // Every SDK URL left over is part of a longer name (another host, port or path
            // segment such as `/kratos2`), which the rewriter leaves alone on purpose.
            let needle = format!("{}{}", setup.config.sdk.origin, setup.config.sdk_path);
            let needle = needle.as_bytes();
            for at in 0..body.len().saturating_sub(needle.len() - 1) {
                if &body[at..at + needle.len()] == needle {
                    let next = body.get(at + needle.len()).copied();
                    assert!(
                        next.is_some_and(|b| b.is_ascii_alphanumeric()
                            || matches!(b, b'.' | b'-' | b'_' | b':' | b'@')),
                        "SDK URL left in a rewritten body at {at}"
                    );
                }
            }
        }
    }
});
