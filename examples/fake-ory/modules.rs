// The fake identity server of the integration tests as modules of an example's crate root:
// `include!`d by `examples/fake-ory/main.rs` and `examples/playground/main.rs`, so both list
// them once. Its modules refer to each other and to the id helpers through `super::`, which is
// the including crate's root. (A `#[path]` in an included file is relative to this file's
// folder, whoever includes it.)

#[allow(dead_code)]
#[path = "../../tests/util/chunked.rs"]
mod chunked;
#[allow(dead_code)]
#[path = "../../tests/util/forwarded.rs"]
mod forwarded;
#[allow(dead_code)]
#[path = "../../tests/util/message.rs"]
mod message;
#[allow(dead_code)]
#[path = "../../tests/util/server_read.rs"]
mod server_read;
#[allow(dead_code)]
#[path = "../../tests/util/ids.rs"]
mod ids;
#[allow(dead_code)]
#[path = "../../tests/util/ory.rs"]
mod ory;
#[allow(dead_code)]
#[path = "../../tests/util/ory_flows.rs"]
mod ory_flows;
#[allow(dead_code)]
#[path = "../../tests/util/ory_pages.rs"]
mod ory_pages;
#[allow(dead_code)]
#[path = "../../tests/util/ory_second_factor.rs"]
mod ory_second_factor;
#[allow(dead_code)]
#[path = "../../tests/util/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../../tests/util/server_wire.rs"]
mod server_wire;
#[allow(unused_imports)]
use ids::{random_hex, random_u64, rfc3339, unix_now, uuid};
