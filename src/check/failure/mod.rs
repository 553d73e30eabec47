//! The typed sub-kinds a [`CheckError`](super::CheckError) carries, so that
//! class, message and hint are functions of a value, never of a sentence:
//! * [`addr`]: one address that could not be connected to, and why
//! * [`awaited`]: what a step that ran out of time was waiting for
//! * [`rule`]: which rule a response head, a 101 or a frame broke
//! * [`foreign`]: which protocol answered instead of HTTP
//! * [`proxy`]: which hop of a proxied connection failed, with the proxy's reply

pub mod addr;
pub mod awaited;
pub mod foreign;
pub mod proxy;
pub mod rule;

pub use addr::{AddrCause, AddrFailure};
pub use awaited::Awaited;
pub use foreign::ForeignProtocol;
pub use proxy::{ProxyHop, ProxyReply, Socks5Reply};
pub use rule::ProtocolRule;
