//! The wire: the listening socket, client connections, request heads and bodies, and writing
//! responses. Knows bytes and sockets only — no Ory, no tokens.

pub mod framing;
pub mod intake;
pub mod response;
pub mod server;
pub mod watchdog;
pub mod workers;
