//! Shared fixtures for the integration tests: a misbehaving WebSocket server
//! ([`fault_server`]), the raw frame codec it needs ([`frames`]) and a
//! throwaway PKI for TLS tests ([`pki`]).
//!
//! Each integration test includes this with `mod support;` and uses only part
//! of it, hence the `dead_code` allowances in the submodules.

pub mod fault_server;
pub mod frames;
pub mod pki;

// Short paths for the common items; a given test file may use none of them.
#[allow(unused_imports)]
pub use fault_server::{Behavior, ConnRecord, FaultServer, backlog, refused_port};
#[allow(unused_imports)]
pub use pki::{ServerIdentity, TestCa, Validity};
