//! `missing_101`: the server answered the upgrade with another status.

use crate::check::model::ResponseHead;

/// The hint for a non-101 answer, by its status and version.
pub(super) fn hint(response: &ResponseHead) -> String {
    let mut h = status_hint(response.status, response.header("location"));
    if response.version == "HTTP/1.0" {
        h.push_str(" The answer came as HTTP/1.0: an old proxy, or a proxy speaking HTTP/1.0 on the way, cannot carry a WebSocket upgrade.");
    }
    h
}

fn status_hint(status: u16, location: Option<&str>) -> String {
    match status {
        502 => "The proxy could not reach the upstream WebSocket server (refused or reset): check that the backend runs and the proxy's upstream address.".into(),
        504 => "The proxy got no answer from the upstream in time. If some requests pass and others wait for the proxy timeout (nginx: 60 s), look for requests downgraded to HTTP/1.0 on the way, for instance by a load balancer.".into(),
        503 => "The service is unavailable: no healthy backend, maintenance, or rate limiting.".into(),
        400 | 426 | 200 => "The upgrade was not understood: a proxy in between does not forward the Upgrade and Connection headers (nginx needs proxy_http_version 1.1 and proxy_set_header Upgrade $http_upgrade / Connection \"upgrade\"), or a plain HTTP handler serves this path.".into(),
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
