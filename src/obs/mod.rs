//! Observability: log lines, Prometheus metrics and the health endpoints' checks. Imports
//! nothing above it, so every layer can log and count.

pub mod access;
pub mod health;
pub mod logger;
pub mod metrics;
pub mod printable;
pub mod timefmt;
pub mod warn_once;
