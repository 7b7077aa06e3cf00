//! Habits from the Go command (`ory proxy` of the Ory CLI) and from typing fast, met with an
//! answer instead of a bare "invalid option".
//!
//! Users arrive with `--project acme`, `ORY_PROJECT=acme`, `ORY_KRATOS_URL` (the v0.x name of
//! the SDK URL), `--dev` and `--yes`, and with typos such as `--sdk`. The Go names are accepted
//! with the meaning they have there (or a note that they have none here); a near-miss gets a
//! "did you mean". All of it is pure, so the exact wording is unit-tested.

/// Where the SDK URL came from, and a note when a project name was given but not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkChoice {
    pub url: String,
    /// `--sdk-url`, `ORY_SDK_URL`, `ORY_KRATOS_URL`, `--project acme`, `ORY_PROJECT=acme`, …
    pub source: String,
    /// Said at start-up when a project was given too and lost to the SDK URL.
    pub note: Option<String>,
}

/// Picks the SDK URL: an SDK URL (flag, `ORY_SDK_URL`, then `ORY_KRATOS_URL`) wins over a
/// project slug (flag, `ORY_PROJECT`, then `ORY_PROJECT_SLUG`), which becomes
/// `https://SLUG.projects.oryapis.com`.
pub fn choose_sdk(
    sdk_flag: Option<&str>,
    project_flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SdkChoice, String> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let sdk = match sdk_flag {
        Some(url) => Some((url.to_owned(), "--sdk-url".to_owned())),
        None => ["ORY_SDK_URL", "ORY_KRATOS_URL"]
            .iter()
            .find_map(|name| set(name).map(|v| (v, (*name).to_owned()))),
    };
    let project = match project_flag {
        Some(slug) => Some((slug.to_owned(), format!("--project {slug}"))),
        None => ["ORY_PROJECT", "ORY_PROJECT_SLUG"]
            .iter()
            .find_map(|name| set(name).map(|v| (v.clone(), format!("{name}={v}")))),
    };
    match (sdk, project) {
        (Some((url, source)), project) => Ok(SdkChoice {
            note: project.map(|(_, from)| format!("{from} is ignored: {source} names Ory")),
            url,
            source,
        }),
        (None, Some((given, source))) => {
            let name = source.split([' ', '=']).next().unwrap_or("").to_owned();
            let (slug, note) = match slug_of_url(&given) {
                Some(slug) => {
                    let note = format!(
                        "{name} takes the project's slug: used '{slug}' from {}",
                        given.trim()
                    );
                    (slug, Some(note))
                }
                None => (given.trim().to_owned(), None),
            };
            let source = match (&note, name.starts_with("--")) {
                (None, _) => source,
                (Some(_), true) => format!("{name} {slug}"),
                (Some(_), false) => format!("{name}={slug}"),
            };
            Ok(SdkChoice {
                url: project_url(&slug, &name)?,
                source,
                note,
            })
        }
        (None, None) => Err(
            "no Ory SDK URL: set --sdk-url or the ORY_SDK_URL environment \
             variable (or --project SLUG for Ory Network)"
                .to_owned(),
        ),
    }
}

/// The slug of an Ory Network project URL given where a slug belongs (`--project
/// https://acme.projects.oryapis.com/` is `acme`): what the console shows is the URL.
fn slug_of_url(given: &str) -> Option<String> {
    let given = given.trim();
    let rest = given.split_once("://").map_or(given, |(scheme, rest)| {
        if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http") {
            rest
        } else {
            given
        }
    });
    let host = rest.split(['/', '?', '#']).next()?;
    let slug = host
        .to_ascii_lowercase()
        .strip_suffix(".projects.oryapis.com")?
        .to_owned();
    (!slug.is_empty() && !slug.contains('.')).then_some(slug)
}

/// `https://SLUG.projects.oryapis.com`, for a slug of letters, digits and `-`.
fn project_url(slug: &str, name: &str) -> Result<String, String> {
    let slug = slug.trim();
    let valid = !slug.is_empty()
        && slug.len() <= 63
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid && slug.contains("://") {
        return Err(format!(
            "{name} '{slug}' is a URL, not a project slug: pass a URL as --sdk-url {slug}"
        ));
    }
    if !valid {
        return Err(format!(
            "{name} '{slug}' is not a project slug (letters, digits and '-', as in \
             https://<slug>.projects.oryapis.com)"
        ));
    }
    Ok(format!(
        "https://{}.projects.oryapis.com",
        slug.to_ascii_lowercase()
    ))
}

/// The note for a Go flag that means nothing here (`--dev`, `--yes`).
pub fn no_effect_note(flag: &str) -> String {
    let why = match flag {
        "--dev" => "cookies follow the public URL's scheme already",
        _ => "it asks no questions",
    };
    format!("{flag} has no effect here ({why}); accepted for the Go command's sake")
}

/// `'--sdk-url'` for `--sdk`: the real flag an unknown one was probably meant to be.
pub fn suggest_flag(unknown: &str) -> Option<&'static str> {
    let name = unknown.split('=').next().unwrap_or(unknown);
    let name = if name.starts_with("--") {
        name.to_owned()
    } else {
        // `-sdk-url` or `sdk-url`: the dashes were what went wrong.
        format!("--{}", name.trim_start_matches('-'))
    };
    let flags: Vec<&'static str> = crate::help::long_flags().collect();
    if let Some(exact) = flags.iter().find(|f| **f == name) {
        return Some(exact);
    }
    let prefixed: Vec<_> = flags.iter().filter(|f| f.starts_with(&name)).collect();
    if name.len() >= 4 && prefixed.len() == 1 {
        return Some(prefixed[0]);
    }
    flags
        .iter()
        .map(|f| (distance(&name, f), *f))
        .filter(|(d, f)| *d <= 2.max(f.len() / 5))
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f)
}

/// Levenshtein distance between two short ASCII strings.
fn distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn sdk_url_wins_over_a_project() {
        let c = choose_sdk(Some("http://k:4433"), Some("acme"), &env(&[])).unwrap();
        assert_eq!(c.url, "http://k:4433");
        assert_eq!(c.source, "--sdk-url");
        assert_eq!(
            c.note.as_deref(),
            Some("--project acme is ignored: --sdk-url names Ory")
        );
        let c = choose_sdk(
            None,
            None,
            &env(&[("ORY_SDK_URL", "http://a"), ("ORY_PROJECT", "x")]),
        );
        assert_eq!(c.unwrap().source, "ORY_SDK_URL");
    }

    #[test]
    fn project_becomes_an_ory_network_url() {
        let c = choose_sdk(None, Some("Acme-42"), &env(&[])).unwrap();
        assert_eq!(c.url, "https://acme-42.projects.oryapis.com");
        assert_eq!(c.source, "--project Acme-42");
        let c = choose_sdk(None, None, &env(&[("ORY_PROJECT_SLUG", "old")])).unwrap();
        assert_eq!(c.url, "https://old.projects.oryapis.com");
        assert_eq!(c.source, "ORY_PROJECT_SLUG=old");
        let e = choose_sdk(None, Some("a.b"), &env(&[])).unwrap_err();
        assert!(
            e.starts_with("--project 'a.b' is not a project slug"),
            "{e}"
        );
    }

    #[test]
    fn a_project_url_gives_its_slug_with_a_note() {
        let c = choose_sdk(
            None,
            Some("https://acme-42.projects.oryapis.com/"),
            &env(&[]),
        )
        .unwrap();
        assert_eq!(c.url, "https://acme-42.projects.oryapis.com");
        assert_eq!(c.source, "--project acme-42");
        assert_eq!(
            c.note.as_deref(),
            Some(
                "--project takes the project's slug: used 'acme-42' from \
                 https://acme-42.projects.oryapis.com/"
            )
        );
        let vars = env(&[("ORY_PROJECT", "Acme.projects.oryapis.com")]);
        let c = choose_sdk(None, None, &vars).unwrap();
        assert_eq!(
            (c.url.as_str(), c.source.as_str()),
            ("https://acme.projects.oryapis.com", "ORY_PROJECT=acme")
        );
        let e = choose_sdk(None, Some("https://auth.example.org"), &env(&[])).unwrap_err();
        assert_eq!(
            e,
            "--project 'https://auth.example.org' is a URL, not a project slug: pass a URL as \
             --sdk-url https://auth.example.org"
        );
    }

    #[test]
    fn kratos_url_is_the_old_name_of_the_sdk_url() {
        let c = choose_sdk(None, None, &env(&[("ORY_KRATOS_URL", "http://k")])).unwrap();
        assert_eq!(
            (c.url.as_str(), c.source.as_str()),
            ("http://k", "ORY_KRATOS_URL")
        );
        let c = choose_sdk(
            None,
            None,
            &env(&[("ORY_KRATOS_URL", "http://k"), ("ORY_SDK_URL", "http://s")]),
        );
        assert_eq!(c.unwrap().url, "http://s");
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest_flag("--sdk"), Some("--sdk-url"));
        assert_eq!(suggest_flag("--sdk=http://x"), Some("--sdk-url"));
        assert_eq!(suggest_flag("--sdkurl"), Some("--sdk-url"));
        assert_eq!(suggest_flag("-sdk-url"), Some("--sdk-url"));
        assert_eq!(suggest_flag("--proejct"), Some("--project"));
        assert_eq!(suggest_flag("--cookie-domian"), Some("--cookie-domain"));
        assert_eq!(
            suggest_flag("--allowed-cors-origin"),
            Some("--allowed-cors-origins")
        );
        assert_eq!(suggest_flag("--frobnicate"), None);
        assert_eq!(suggest_flag("--x"), None);
    }
}
