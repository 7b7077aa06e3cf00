//! Reason phrases of status codes, for the status lines and error bodies the proxy writes. The
//! lowest layer: the wire and the request errors both use it.

/// The standard reason phrase of a status code ("Unknown" for codes without one): the `http`
/// crate's, except three it still spells as before RFC 9110.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        203 => "Non-Authoritative Information",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        _ => ureq::http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases_follow_rfc_9110() {
        assert_eq!(reason_phrase(200), "OK");
        assert_eq!(reason_phrase(413), "Content Too Large");
        assert_eq!(reason_phrase(422), "Unprocessable Content");
        assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
        assert_eq!(reason_phrase(599), "Unknown");
    }
}
