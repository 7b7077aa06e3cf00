//! The operator port, `--metrics-address`: Prometheus metrics and the two health probes on an
//! address of their own (`/metrics`, `/health/alive`, `/health/ready`), so request counts and
//! latencies need not be readable by every visitor of the public port (as Oathkeeper and
//! Pomerium do it).
//!
//! It runs on the same connection layer as the public port (`crate::http::listener`, one
//! thread per connection), with this handler instead of the proxy's: nothing here forwards, looks
//! up a session or signs. Its requests are neither counted in the metrics nor access-logged, so
//! a scrape every few seconds does not show up as traffic.

use crate::error::Error;
use crate::http::conn::{Exchange, Handler};
use crate::http::target::origin_form;
use crate::proxy::route::Route;
use crate::proxy::{App, Context};
use std::sync::Arc;

/// The handler of the operator port.
pub struct OpsPort(pub Arc<App>);

impl Handler for OpsPort {
    fn handle(&self, ex: Exchange<'_>) {
        let app = &self.0;
        let mut cx = Context::new(ex);
        let result = match cx.ex.request.refusal.take() {
            Some(refusal) => Err(refusal.into()),
            None => {
                let target = cx.target().to_owned();
                let path = origin_form(&target).map(|t| t.split('?').next().unwrap_or(t));
                match path {
                    Some("/metrics") => app.serve_metrics(&mut cx),
                    Some("/health/alive") => app.serve_local(&mut cx, Route::Alive),
                    Some("/health/ready") => app.serve_local(&mut cx, Route::Ready),
                    _ => Err(Error::NotFound),
                }
            }
        };
        if let Err(error) = result {
            app.answer_error(&mut cx, error);
        }
    }
}
