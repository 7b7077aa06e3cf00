//! The `ory-proxy` binary: everything lives in the library; this only maps its outcome to an exit code.

fn main() {
    std::process::exit(ory_proxy::cli::run());
}
