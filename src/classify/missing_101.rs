//! `missing_101`: the server answered the upgrade with another status. What
//! the answer says for itself ([`Refusal`]) comes first, then what its
//! product's own status means ([`Product`]), then what the status usually means.

use crate::check::challenge::Challenge;
use crate::check::model::ResponseHead;
use crate::product::Product;
use crate::refusal::Refusal;

/// The hint for a non-101 answer, by what it says, the product that wrote it,
/// its status and its version.
pub(super) fn hint(response: &ResponseHead) -> String {
    let mut h = refusal_hint(response, Product::in_answer(response));
    if response.version == "HTTP/1.0" {
        h.push_str(" The answer came as HTTP/1.0: an old proxy, or a proxy speaking HTTP/1.0 on the way, cannot carry a WebSocket upgrade.");
    }
    h
}

/// What the answer says for itself, else what its product's status means,
/// else what the status usually means.
fn refusal_hint(response: &ResponseHead, front: Option<Product>) -> String {
    if let Some(refusal) = Refusal::read(response) {
        return stated_refusal_hint(&refusal);
    }
    match front.and_then(|p| p.status_meaning(response.status)) {
        Some(meaning) => meaning.into(),
        None => status_hint(response.status, response.header("location"), front),
    }
}

/// What to do about a refusal that says why.
pub(super) fn stated_refusal_hint(refusal: &Refusal) -> String {
    match refusal {
        Refusal::PlainHttpToTlsPort => "A plain HTTP request reached a TLS port: this listener speaks TLS, so use wss:// (or the plain port for ws://).".into(),
        Refusal::SubprotocolRequired { named } => match named {
            Some(p) => format!("The server requires a subprotocol it did not get or does not support: offer {p:?} in Sec-WebSocket-Protocol (--subprotocol {p}; subprotocols in monitors.yaml)."),
            None => "The server requires a subprotocol it did not get or does not support: offer the one the application speaks in Sec-WebSocket-Protocol (--subprotocol NAME; subprotocols in monitors.yaml).".into(),
        },
        Refusal::CredentialsWanted { by_proxy, challenges } => credentials_hint(*by_proxy, challenges),
    }
}

fn credentials_hint(by_proxy: bool, challenges: &[Challenge]) -> String {
    let (who, header) = if by_proxy {
        ("A proxy wants", "Proxy-Authorization")
    } else {
        ("The server wants", "Authorization")
    };
    let wanted: Vec<String> = challenges
        .iter()
        .map(|c| match &c.realm {
            Some(realm) => format!("{} (realm {realm:?})", c.scheme),
            None => c.scheme.clone(),
        })
        .collect();
    let Some(first) = challenges.first() else {
        return format!("{who} credentials but names no scheme: send them in {header}.");
    };
    let how = if by_proxy {
        "give them in the proxy URL (http://user:password@proxy:port)".to_string()
    } else {
        format!("--header '{header}: {} …'", first.scheme)
    };
    format!(
        "{who} {} authentication: {how}; if credentials were sent, they were wrong or expired.",
        wanted.join(" or ")
    )
}

fn status_hint(status: u16, location: Option<&str>, front: Option<Product>) -> String {
    match status {
        502 => "The proxy could not reach the upstream WebSocket server (refused or reset): check that the backend runs and the proxy's upstream address.".into(),
        504 => "The proxy got no answer from the upstream in time. If some requests pass and others wait for the proxy timeout (nginx: 60 s), look for requests downgraded to HTTP/1.0 on the way, for instance by a load balancer.".into(),
        503 => "The service is unavailable: no healthy backend, maintenance, or rate limiting.".into(),
        400 | 426 | 200 => upgrade_not_passed_hint(front),
        401 | 403 => "The server refused this client: check the credentials (--header 'Authorization: …'), the Origin allow-list (--origin) and IP restrictions.".into(),
        404 => "There is no WebSocket endpoint at this path: check the URL path and the proxy's location rules.".into(),
        429 => "The server is rate limiting: the check runs too often, or the service is overloaded.".into(),
        301 | 302 | 303 | 307 | 308 => format!(
            "The server redirects{}; WebSocket clients do not follow redirects: use the final URL (often ws:// → wss://).",
            location.map(|l| format!(" to {l}")).unwrap_or_default()
        ),
        500..=599 => "The server failed while handling the upgrade: see its error log.".into(),
        _ => "The server answered with something other than 101 Switching Protocols: it does not treat this request as a WebSocket upgrade.".into(),
    }
}

/// A refusal that means the backend never saw the upgrade: the fix of the
/// product in front, or of the common proxies when none is named.
fn upgrade_not_passed_hint(front: Option<Product>) -> String {
    let Some(product) = front else {
        let fixes: Vec<String> = Product::COMMON_PROXIES
            .iter()
            .filter_map(|p| p.upgrade_fix().map(|fix| format!("{}: {fix}", p.name())))
            .collect();
        return format!(
            "The upgrade was not understood: a proxy in between does not forward the Upgrade and Connection headers ({}), or a plain HTTP handler serves this path.",
            fixes.join("; ")
        );
    };
    match product.upgrade_fix() {
        Some(fix) => format!(
            "The upgrade was not understood: {} in front does not forward the Upgrade and Connection headers; it needs {fix}. Or a plain HTTP handler serves this path.",
            product.name()
        ),
        None => format!(
            "The upgrade was refused behind {}, which forwards WebSocket upgrades by itself: the backend does not serve a WebSocket at this path, or a hop behind it drops the Upgrade and Connection headers.",
            product.name()
        ),
    }
}
