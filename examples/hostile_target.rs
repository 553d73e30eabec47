//! Hostile WebSocket peers for `bench/hostile.sh`: the fault server of the
//! integration tests, one listener per behaviour, in its own process.
//!
//! Usage: `hostile_target`. Prints one `NAME=PORT` line per behaviour once
//! every listener is up, then serves until killed or for [`LIFETIME`].

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;
use support::{Behavior, FaultServer};

/// The peers measured, by the name the benchmark prints.
fn behaviours() -> [(&'static str, Behavior); 5] {
    [
        // Pings in a loop, reading only now and then.
        ("flood", Behavior::PingFlood),
        // A valid 101, then not one byte read or written.
        ("never_read", Behavior::NeverReads),
        // A 1 GiB binary message, announced in one frame header and streamed.
        ("huge_frames", Behavior::OversizedMessage(1 << 30)),
        // A 101 head whose one header line never ends (64 MiB of it).
        ("huge_head", Behavior::HugeHeaders(64 << 20)),
        // Reads the request and never answers.
        ("slowloris", Behavior::SilentAfterRequest),
    ]
}

/// The target never outlives a forgotten bench run by long.
const LIFETIME: Duration = Duration::from_secs(600);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut servers = Vec::new();
    for (name, behaviour) in behaviours() {
        let server = FaultServer::start(behaviour).await;
        println!("{name}={}", server.addr.port());
        servers.push(server);
    }
    tokio::time::sleep(LIFETIME).await;
}
