//! A Flask application behind the proxy, on Werkzeug's server or on the standard library's
//! `wsgiref`, run by the pinned Python ([`super::external`]).

use super::external::{self, ExternalServer};

/// What every app starts with: Flask, its request and `jsonify`, a quiet Werkzeug log and
/// `app`.
const HEAD: &str = r#"
import logging, sys
from flask import Flask, request, jsonify
logging.getLogger('werkzeug').setLevel(logging.ERROR)
app = Flask(__name__)
"#;

/// What every app ends with: `app` served on `127.0.0.1:0` by `wsgiref` when the argument is
/// `wsgiref`, else by Werkzeug's threaded server, the port printed as `PORT <n>`.
const SERVE: &str = r#"
if sys.argv[1:] == ['wsgiref']:
    from wsgiref import simple_server
    class Quiet(simple_server.WSGIRequestHandler):
        def log_message(self, *args):
            pass
    server = simple_server.make_server('127.0.0.1', 0, app, handler_class=Quiet)
else:
    from werkzeug.serving import make_server
    server = make_server('127.0.0.1', 0, app, threaded=True)
print('PORT', server.server_port, flush=True)
server.serve_forever()
"#;

/// Starts the Flask app whose routes are `routes` (Python that adds views to `app`) on `server`,
/// `"werkzeug"` or `"wsgiref"`; `None` (skipped) without Python.
pub fn start(routes: &str, server: &str) -> Option<ExternalServer> {
    let mut cmd = external::python()?;
    cmd.args(["-c", &format!("{HEAD}{routes}{SERVE}"), server]);
    Some(ExternalServer::start(cmd))
}
