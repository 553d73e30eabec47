//! Shared fixtures for the integration tests: a misbehaving WebSocket server
//! ([`fault_server`]), the raw frame codec it needs ([`frames`]), a
//! throwaway PKI for TLS tests ([`pki`]) and a server that reflects the
//! request back ([`reflect_server`]), the first bytes of other protocols'
//! servers ([`foreign`]) with the search for leaked secrets in
//! what it provokes ([`leaks`]), and a proxy that refuses every tunnel
//! ([`refusing_proxy`]).
//!
//! Each integration test includes this with `mod support;` and uses only part
//! of it, hence the `dead_code` allowances in the submodules.

pub mod fault_server;
pub mod foreign;
pub mod frames;
pub mod leaks;
pub mod pki;
pub mod reflect_server;
pub mod refusing_proxy;
pub mod signalr_hub;

// Short paths for the common items; a given test file may use none of them.
#[allow(unused_imports)]
pub use fault_server::{Behavior, ConnRecord, FaultServer, backlog, refused_port};
#[allow(unused_imports)]
pub use pki::{ServerIdentity, TestCa, Validity};
