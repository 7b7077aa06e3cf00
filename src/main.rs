//! The `ory-proxy` binary: parse the command line, run what it asks for, turn the outcome into an
//! exit code. Everything else lives in the library.
//!
//! 0: clean shutdown, help or version; 1: a runtime start-up failure (port in use, …);
//! 2: a usage error.

use ory_proxy::cli::{self, Action};

fn main() {
    let code = match cli::action(std::env::args_os().skip(1), &|name| {
        std::env::var(name).ok()
    }) {
        Err(message) => {
            eprintln!("ory-proxy: {message} (see 'ory-proxy --help')");
            2
        }
        Ok(Action::Print(text)) => {
            print!("{text}");
            0
        }
        Ok(Action::GenerateJwks) => match ory_proxy::ory::keyfile::generate_private_jwks() {
            Ok(text) => {
                print!("{text}");
                0
            }
            Err(e) => {
                eprintln!("ory-proxy: cannot generate a key: {e}");
                1
            }
        },
        Ok(Action::Run(config)) => match ory_proxy::serve::run(*config) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("ory-proxy: {e}");
                1
            }
        },
    };
    std::process::exit(code);
}
