//! `--help` and `-h`: the flags grouped by what a user is trying to do, with examples.
//!
//! Each group is a table in a string, one flag per line (`flag | env | default | meaning`), so
//! adding a flag is one line in its group and the layout (column, wrapping, `[env: …]` and
//! `[default: …]`) is computed in one place. `docs/flags.md` follows this text; the list of
//! flags here is also what "did you mean" suggestions are drawn from (`crate::compat`).

/// The groups, in the order `--help` prints them.
pub const GROUPS: &[(&str, &str)] = &[
    ("ESSENTIALS", ESSENTIALS),
    ("COOKIES AND CORS", COOKIES_AND_CORS),
    ("TOKENS AND KEYS", TOKENS_AND_KEYS),
    ("LIMITS AND TIMEOUTS", LIMITS_AND_TIMEOUTS),
    ("OUTPUT", OUTPUT),
];

// flag | environment variable | default | meaning ('-' for none)
const ESSENTIALS: &str = "\
--sdk-url URL | ORY_SDK_URL | - | Where Ory is: https://<slug>.projects.oryapis.com, or the public URL of a self-hosted Kratos (http://127.0.0.1:4433). Required unless --project is given. ORY_KRATOS_URL is read too.
--project SLUG | ORY_PROJECT | - | Ory Network project: the same as --sdk-url https://SLUG.projects.oryapis.com. An SDK URL wins. ORY_PROJECT_SLUG is read too.
--port N | PORT | 4000 | Port to listen on (0 picks a free one; the banner says which).
--bind ADDR | ORY_PROXY_BIND | ::, IPv6 and IPv4 (0.0.0.0 where IPv6 is missing) | Address to listen on: an IP address or 'localhost'; 127.0.0.1 or localhost keeps a development proxy off the network.
--open | - | off | Open the public URL in a browser once listening.
--default-redirect-url URL | - | the public URL | Where Ory's welcome redirect (/.ory/ui/welcome) is sent.
--rewrite-host | - | off, the client's Host is sent | Send the upstream's host as Host (the client's goes in X-Forwarded-Host).
--tls-cert FILE | ORY_PROXY_TLS_CERT | off, plain HTTP | Serve HTTPS on the port with this PEM certificate chain (leaf first); needs --tls-key. TLS 1.2 and 1.3, ALPN http/1.1; the default public URL becomes https://; plain HTTP sent to the port gets a 400. SIGHUP reads both files again (a broken pair keeps the old one). The --metrics-address port stays plain HTTP.
--tls-key FILE | ORY_PROXY_TLS_KEY | - | The private key of --tls-cert, PEM: PKCS#8, SEC1 (EC) or RSA.
--trusted-proxies LIST | ORY_PROXY_TRUSTED_PROXIES | none | Load balancers (addresses and CIDRs, IPv4 or IPv6; comma-separated, repeatable) whose X-Forwarded-For is kept and appended to, and whose X-Forwarded-Proto/-Host are kept; logs show the first untrusted address from the right. From anyone else all three are replaced.
";

const COOKIES_AND_CORS: &str = "\
--cookie-domain DOMAIN | - | none, Domain is removed | Domain written into every Set-Cookie that passes through, e.g. example.org to share the session with sibling subdomains.
--allowed-cors-origins LIST | - | none | Extra origins whose pages may call this one with credentials; comma-separated, repeatable; '*' matches one label, e.g. 'https://*.example.org'.
--additional-cors-headers LIST | - | none | Extra allowed CORS request headers; comma-separated, repeatable.
";

const TOKENS_AND_KEYS: &str = "\
--no-jwt | - | off | No session lookup, no token, no JWKS endpoints; Authorization passes through untouched.
--jwt-ttl DURATION | ORY_PROXY_JWT_TTL | 60s | Lifetime of a token (exp - iat), at least 1s; a token is reused while more than half of it is left.
--session-cache-ttl DURATION | ORY_PROXY_SESSION_CACHE_TTL | 5s | How long a whoami answer is reused for the same credentials (never past the session's expiry; anonymous answers at most 1s; 0 turns the cache off).
--jwks-file PATH | ORY_PROXY_JWKS_FILE | a fresh key per start | Private JWKS: the first key signs, every key's public half is published. Share it between replicas; rotation: docs/operations.md.
--generate-jwks | - | - | Print a fresh private JWKS for --jwks-file and exit.
--jwks-reload-interval DURATION | ORY_PROXY_JWKS_RELOAD_INTERVAL | off, SIGHUP only | Read --jwks-file again whenever its modification time changes, looked at this often (at least 1s): for platforms that rotate mounted secrets without a signal. SIGHUP always reloads it.
--jwt-session MODE | ORY_PROXY_JWT_SESSION | full | What the token's session claim holds: 'full' (the whole whoami session), 'identity' (the session's id, active, expires_at, authenticated_at, authenticator_assurance_level and the identity's id, schema_id, state, traits, metadata_public) or 'none' (no session claim, sub only). A token over 6 KiB is warned about once.
--require-session PREFIX | ORY_PROXY_REQUIRE_SESSION | none | Paths equal to PREFIX or below it (whole segments, case-insensitive, .json/;x suffixes cut: /admin covers /admin/x, /ADMIN and /admin.json, not /administrator) never reach the application without a session: browser navigations get 303 to the login flow with return_to, other requests 401. Repeatable; the variable is comma-separated; '/' protects everything but /.ory/.
--require-aal2 PREFIX | ORY_PROXY_REQUIRE_AAL2 | none | Paths (matched as for --require-session) that need a session with a second factor (authenticator_assurance_level aal2): anonymous requests are answered as by --require-session; with an aal1 session, browser navigations get 303 to Ory's step-up login (?aal=aal2&return_to=...), other requests 403 with WWW-Authenticate: Bearer error=\"insufficient_user_authentication\". Repeatable; the variable is comma-separated.
--identity-header NAME=PATH | ORY_PROXY_IDENTITY_HEADERS | none | Send a session value to the application as a request field, e.g. X-Auth-Request-Email=identity.traits.email (PATH: a dot path into the whoami session; arrays joined with ','; missing: not sent). NAME is removed from every client request in any case; a value with a control character or over 4 KiB is not sent (one warning). The application must be reachable only through the proxy. Repeatable; the variable is comma-separated.
";

const LIMITS_AND_TIMEOUTS: &str = "\
--upstream-timeout DURATION | ORY_PROXY_UPSTREAM_TIMEOUT | 120s | Time the application (or Ory) may take to send its response head, and each read of a body; expired: 504.
--ca-file PATH | ORY_PROXY_CA_FILE | Mozilla's roots | PEM certificates trusted for https:// next hops (Ory, the application, WebSocket upgrades) instead of the built-in roots: a private CA.
--connect-timeout DURATION | ORY_PROXY_CONNECT_TIMEOUT | 5s | Time to connect to the application or Ory; expired: 504.
--session-timeout DURATION | ORY_PROXY_SESSION_TIMEOUT | 10s | Time for one session lookup (whoami); it is retried once, then 504.
--client-timeout DURATION | ORY_PROXY_CLIENT_TIMEOUT | 60s | Idle time allowed on a client connection, and the time a whole request head may take from its first byte; stalled clients are disconnected.
--max-connections N | ORY_PROXY_MAX_CONNECTIONS | 4096 | Open client connections (each has its own thread); beyond it the longest idle one is closed, then one whose client sends or reads below --min-data-rate, and when none is either a new one gets 503.
--min-data-rate BYTES | ORY_PROXY_MIN_DATA_RATE | 240 | Least bytes per second, averaged after the first 5 s of waiting, at which a client must send a request body (else 408 and close) and read an answer (else closed); 0 turns it off.
--shutdown-grace DURATION | ORY_PROXY_SHUTDOWN_GRACE | 10s | On SIGTERM/SIGINT, how long in-flight requests may take before the proxy exits.
";

const OUTPUT: &str = "\
--log-format FORMAT | ORY_PROXY_LOG_FORMAT | text | 'text' or 'json' (one JSON object per line).
--debug | - | off | Explain session lookups and CORS decisions on stderr.
-q, --quiet | - | off | No banner and no request log lines; errors and warnings still print.
--metrics | ORY_PROXY_METRICS=1 | off, 404 | Serve Prometheus metrics at /.ory/proxy/metrics, on the public port.
--metrics-address ADDR:PORT | ORY_PROXY_METRICS_ADDRESS | none | Serve /metrics, /health/alive and /health/ready on this address instead (e.g. 127.0.0.1:9464); /.ory/proxy/metrics then answers 404 on the public port (health stays there too).
-h, --help | - | - | Print a short summary (-h) or this help (--help).
-V, --version | - | - | Print the version.
";

const HEAD: &str = "\
ory-proxy: put your application and Ory on one origin, and hand your application a signed
ES256 JWT for every signed-in request.

USAGE:
    ory-proxy [proxy] <upstream> [<public-url>] [flags]
    ory-proxy tunnel <application-url> [<tunnel-url>] [flags]

    <upstream>      URL of your application, e.g. http://localhost:3000 (no path).
    <public-url>    URL browsers use to reach this proxy (no path).
                    [default: http://localhost:<port>]

Requests to /.ory/... go to Ory with the prefix removed; everything else goes to <upstream>,
with Authorization: Bearer <jwt> when the browser has an active Ory session. The token's public
keys are served at /.ory/jwks.json. Durations: 500ms, 5s, 2m, 1h, or plain seconds.

Tunnel mode, for an app that calls Ory from the browser on its own port: every request goes to
Ory with its path unchanged (no /.ory prefix), never to the app; no session lookup, no token, no
JWKS. <application-url> is where the app runs: its origin may call the tunnel with credentials
(CORS) and gets Ory's welcome redirect (unless --default-redirect-url). <tunnel-url> is what
the browser uses for Ory [default: http://localhost:<port>]; /.ory/proxy/ stays the tunnel's.
--no-jwt, --rewrite-host, --jwt-session, --require-session, --require-aal2, --identity-header,
--jwt-ttl, --jwks-file and --session-cache-ttl are usage errors there (more: ory-proxy tunnel
--help).
";

const TAIL: &str = "\
ENVIRONMENT:
    ORY_PROJECT_API_KEY             Sent to Ory as Ory-Base-URL-Rewrite-Token when set.

ACCEPTED FROM THE GO COMMAND, WITHOUT EFFECT:
    --dev, --yes                    A one-line note says so.

EXAMPLES:
    Local development with Ory Network (open http://localhost:4000):
        ory-proxy http://localhost:3000 --project <your-project-slug>

    A self-hosted Ory Kratos:
        ory-proxy http://localhost:3000 --sdk-url http://127.0.0.1:4433

    Subdomains sharing one session (app.example.org, admin.example.org):
        ory-proxy http://127.0.0.1:3000 https://app.example.org --project <slug> \\
            --cookie-domain example.org --allowed-cors-origins 'https://*.example.org'

    Only signed-in users reach /admin; a small token for an nginx-fronted app:
        ory-proxy http://localhost:3000 --project <slug> --require-session /admin \\
            --jwt-session identity

    A single-page app on :3000 calling Ory through a tunnel on :4000:
        ory-proxy tunnel http://localhost:3000 --project <slug>

    Behind a load balancer that terminates TLS, several replicas with one key file:
        ory-proxy --generate-jwks > jwks.json
        ory-proxy http://127.0.0.1:3000 https://app.example.org --project <slug> \\
            --jwks-file jwks.json --log-format json

EXIT CODES:
    0    a clean shutdown (SIGTERM, SIGINT), or help or version printed
    1    start-up failed at run time: port in use, an unreadable key file, … (the OS error said)
    2    a usage error: one line naming the culprit

More: README.md and docs/ (flags.md, behaviour.md, operations.md, beyond.md).
";

/// `ory-proxy tunnel --help`, `ory-proxy help tunnel`: tunnel mode alone.
pub const TUNNEL: &str = "\
ory-proxy tunnel: Ory on a port of its own, beside a single-page app that calls it from the
browser (what `ory tunnel` of the Go command does).

USAGE:
    ory-proxy tunnel <application-url> [<tunnel-url>] [flags]

    <application-url>   where your app runs, e.g. http://localhost:3000: its origin may call
                        the tunnel with credentials (CORS) and gets Ory's welcome redirect.
    <tunnel-url>        what the browser uses for Ory [default: http://localhost:<port>]

Every request goes to Ory with its path unchanged (no /.ory prefix), never to the app; cookies,
redirects and Ory's pages are rewritten to the tunnel URL. /.ory/proxy/ (health, metrics) stays
the tunnel's own. No session lookup, no token, no JWKS: your app asks Ory (through the tunnel)
with the browser's cookie, e.g. fetch('http://localhost:4000/sessions/whoami',
{credentials: 'include'}).

FLAGS:
    --sdk-url URL, --project SLUG   where Ory is [env: ORY_SDK_URL, ORY_PROJECT]
    --port N, --bind ADDR           where the tunnel listens [default: 4000, ::]
    --default-redirect-url URL      where the welcome redirect goes [default: <application-url>]
    --allowed-cors-origins LIST     more origins that may call with credentials
    --cookie-domain, --open, timeouts, limits, --log-format, --debug, -q: as for the proxy
    (ory-proxy --help lists them all). --no-jwt, --rewrite-host, --jwt-session,
    --require-session, --require-aal2, --identity-header, --jwt-ttl, --jwks-file and
    --session-cache-ttl are usage errors here.

EXAMPLE:
    ory-proxy tunnel http://localhost:3000 --project <your-project-slug>

EXIT CODES:
    0 clean shutdown or help; 1 start-up failed at run time (port in use, …); 2 usage error
";

/// `-h`: what most people need, at most 25 lines.
pub const SHORT: &str = "\
ory-proxy: your application and Ory on one origin; a signed JWT for each signed-in request.

USAGE:
    ory-proxy <upstream> [<public-url>] [flags]
    ory-proxy tunnel <application-url> [<tunnel-url>] [flags]   (Ory beside a SPA)

    <upstream>                   your application, e.g. http://localhost:3000
    <public-url>                 what browsers open [default: http://localhost:<port>]
    --sdk-url URL                where Ory is: https://<slug>.projects.oryapis.com, or the
                                 public URL of your Kratos [env: ORY_SDK_URL]
    --project SLUG               the same as --sdk-url https://SLUG.projects.oryapis.com
    --port N                     port to listen on [default: 4000]
    --cookie-domain DOMAIN       share the session cookie with sibling subdomains
    --allowed-cors-origins LIST  other origins whose pages may call with credentials
    --jwks-file PATH             signing keys kept across restarts (--generate-jwks)
    --debug                      explain session lookups and CORS decisions

EXAMPLE:
    ory-proxy http://localhost:3000 --project <your-project-slug>

Every flag, variable and default, with more examples: ory-proxy --help
";

/// Column where a flag's description starts.
const COLUMN: usize = 36;
/// Width the descriptions are wrapped to.
const WIDTH: usize = 96;

/// The rows of every group: `(flag, env, default, meaning)`, `None` for `-`.
pub fn rows() -> impl Iterator<Item = [Option<&'static str>; 4]> {
    GROUPS.iter().flat_map(|(_, table)| {
        table.lines().filter(|l| !l.trim().is_empty()).map(|line| {
            let mut cells = line.splitn(4, " | ").map(|c| match c.trim() {
                "-" | "" => None,
                c => Some(c),
            });
            [(); 4].map(|_| cells.next().flatten())
        })
    })
}

/// Every long flag name (`--sdk-url`, …), for suggestions.
pub fn long_flags() -> impl Iterator<Item = &'static str> {
    rows().filter_map(|[flag, ..]| {
        let flag = flag?;
        flag.split(", ")
            .map(|f| f.split(' ').next().unwrap_or(f))
            .find(|f| f.starts_with("--"))
    })
}

/// `--help`.
pub fn long() -> String {
    let mut out = String::from(HEAD);
    for (title, table) in GROUPS {
        out.push('\n');
        out.push_str(title);
        out.push_str(":\n");
        for line in table.lines().filter(|l| !l.trim().is_empty()) {
            let cells: Vec<&str> = line.splitn(4, " | ").map(str::trim).collect();
            let [flag, env, default, meaning] = cells[..] else {
                continue;
            };
            // Words of the meaning; `[env: …]` and `[default: …]` are never split.
            let mut words: Vec<String> = meaning.split(' ').map(str::to_owned).collect();
            if env != "-" {
                words.push(format!("[env: {env}]"));
            }
            if default != "-" {
                words.push(format!("[default: {default}]"));
            }
            push_entry(&mut out, flag, &words);
        }
    }
    out.push('\n');
    out.push_str(TAIL);
    out
}

/// `    flag    text…` with the text wrapped at [`WIDTH`] and indented to [`COLUMN`].
fn push_entry(out: &mut String, flag: &str, words: &[String]) {
    let mut line = format!("    {flag}");
    if line.len() + 2 > COLUMN {
        out.push_str(&line);
        out.push('\n');
        line.clear();
    }
    let mut first_word = true;
    for word in words {
        if !first_word && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line.clear();
            first_word = true;
        }
        if first_word {
            while line.len() < COLUMN {
                line.push(' ');
            }
        } else {
            line.push(' ');
        }
        line.push_str(word);
        first_word = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_four_cells() {
        for (title, table) in GROUPS {
            for line in table.lines() {
                assert_eq!(line.splitn(4, " | ").count(), 4, "{title}: {line}");
            }
        }
    }

    #[test]
    fn lines_fit_and_descriptions_line_up() {
        for line in long().lines() {
            assert!(line.chars().count() <= WIDTH, "too long: {line}");
        }
        let help = long();
        let sdk = help.lines().find(|l| l.contains("--sdk-url URL")).unwrap();
        assert_eq!(sdk.find("Where Ory is"), Some(COLUMN), "{sdk}");
    }

    #[test]
    fn tunnel_help_fits() {
        assert!(TUNNEL.lines().all(|l| l.chars().count() <= WIDTH));
    }

    #[test]
    fn short_help_is_short() {
        assert!(SHORT.lines().count() <= 25, "{}", SHORT.lines().count());
        assert!(SHORT.lines().all(|l| l.chars().count() <= WIDTH));
    }

    #[test]
    fn every_flag_is_in_the_docs() {
        let docs = include_str!("../docs/flags.md");
        for flag in long_flags() {
            assert!(
                docs.contains(&format!("`{flag}")),
                "{flag} missing from docs/flags.md"
            );
        }
    }

    #[test]
    fn long_flags_are_listed() {
        let flags: Vec<_> = long_flags().collect();
        for f in [
            "--sdk-url",
            "--project",
            "--quiet",
            "--help",
            "--version",
            "--jwt-ttl",
        ] {
            assert!(flags.contains(&f), "{f} in {flags:?}");
        }
    }
}
