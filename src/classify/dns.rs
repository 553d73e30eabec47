//! `dns_error`: the name did not resolve.

/// The hint for a name that did not resolve.
pub(super) fn hint() -> String {
    "The name does not resolve: check the spelling, the DNS record and the resolver this host uses (a new record may not have propagated yet).".into()
}
