//! The product in front of an endpoint — a reverse proxy, load balancer or
//! CDN — recognised from the answer to the upgrade (its `Server` and `Via`
//! headers, vendor headers, the signature of its own error pages), with what
//! it does to WebSockets and the fix in its own terms, so a hint can name
//! Apache's `upgrade=websocket` or HAProxy's `timeout tunnel` instead of
//! nginx's directives for everyone.
//!
//! Facts come from the products' documentation, collected with sources in
//! the shared FIELD-NOTES.md; a product whose behaviour no source confirmed
//! gets no fix here (`None`) rather than a guess.

use crate::check::model::ResponseHead;

/// A product that handles WebSocket traffic on the way to the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray)]
pub enum Product {
    /// nginx (and OpenResty, which is nginx).
    Nginx,
    /// Apache httpd with mod_proxy.
    ApacheHttpd,
    /// Caddy's reverse_proxy.
    Caddy,
    /// lighttpd's mod_proxy.
    Lighttpd,
    /// HAProxy.
    Haproxy,
    /// Envoy, also inside Istio.
    Envoy,
    /// Traefik.
    Traefik,
    /// An AWS Application (or classic) Load Balancer.
    AwsElb,
    /// AWS CloudFront.
    CloudFront,
    /// A Google Cloud HTTP(S) load balancer.
    GoogleCloudLb,
    /// Cloudflare's proxy.
    Cloudflare,
    /// Varnish.
    Varnish,
    /// Akamai's edge.
    Akamai,
    /// Heroku's router.
    Heroku,
}

/// Error-page text only the product writes, for answers that carry no
/// identifying header (HAProxy sends no `Server`).
const BODY_SIGNATURES: [(&str, Product); 9] = [
    ("/cdn-cgi/styles/cf.errors.css", Product::Cloudflare),
    ("cloudflare ray id", Product::Cloudflare),
    ("upstream connect error or disconnect/reset", Product::Envoy),
    ("<center>nginx", Product::Nginx),
    ("<center>openresty", Product::Nginx),
    ("<address>apache", Product::ApacheHttpd),
    (
        "no server is available to handle this request",
        Product::Haproxy,
    ),
    ("the server didn't respond in time", Product::Haproxy),
    (
        "the server returned an invalid or incomplete response",
        Product::Haproxy,
    ),
];

/// The product name at the start of a `Server` header (before `/` or a space).
const SERVER_TOKENS: [(&str, Product); 10] = [
    ("nginx", Product::Nginx),
    ("openresty", Product::Nginx),
    ("apache", Product::ApacheHttpd),
    ("caddy", Product::Caddy),
    ("lighttpd", Product::Lighttpd),
    ("envoy", Product::Envoy),
    ("istio-envoy", Product::Envoy),
    ("awselb", Product::AwsElb),
    ("cloudflare", Product::Cloudflare),
    ("akamaighost", Product::Akamai),
];

/// Response headers only the product adds.
const VENDOR_HEADERS: [(&str, Product); 4] = [
    ("cf-ray", Product::Cloudflare),
    ("x-amz-cf-id", Product::CloudFront),
    ("x-varnish", Product::Varnish),
    ("x-envoy-upstream-service-time", Product::Envoy),
];

/// What a product writes in a `Via` entry (RFC 9110 §7.6.3: protocol,
/// then a received-by name or pseudonym, then a comment).
const VIA_SIGNATURES: [(&str, Product); 5] = [
    ("(cloudfront)", Product::CloudFront),
    (" google", Product::GoogleCloudLb),
    ("varnish", Product::Varnish),
    (" vegur", Product::Heroku),
    ("(apache/", Product::ApacheHttpd),
];

impl Product {
    /// Every product, for tables and tests, in declaration order.
    pub const ALL: [Product; <Product as strum::VariantArray>::VARIANTS.len()] =
        crate::check::model::variant_array(<Product as strum::VariantArray>::VARIANTS);

    /// The reverse proxies a self-hosted endpoint most often sits behind:
    /// their fixes are listed when the answer names no product.
    pub const COMMON_PROXIES: [Product; 4] = [
        Product::Nginx,
        Product::ApacheHttpd,
        Product::Haproxy,
        Product::Lighttpd,
    ];

    /// The product that wrote or relayed `answer`, if it says. An error page's
    /// signature wins (its author is the hop that failed), then the `Server`
    /// header (the outermost hop usually sets it), vendor headers, `Via`.
    pub fn in_answer(answer: &ResponseHead) -> Option<Product> {
        let body = answer
            .body_snippet
            .as_deref()
            .unwrap_or("")
            .to_ascii_lowercase();
        let via = answer.header("via").unwrap_or("").to_ascii_lowercase();
        let server = answer.header("server").unwrap_or("").to_ascii_lowercase();
        let server_product = server.split(['/', ' ']).next().unwrap_or("");
        first_match(&BODY_SIGNATURES, |sig| body.contains(sig))
            .or_else(|| first_match(&SERVER_TOKENS, |token| server_product == token))
            .or_else(|| first_match(&VENDOR_HEADERS, |name| answer.header(name).is_some()))
            .or_else(|| first_match(&VIA_SIGNATURES, |sig| via.contains(sig)))
    }

    /// The name engineers know it by.
    pub fn name(self) -> &'static str {
        match self {
            Product::Nginx => "nginx",
            Product::ApacheHttpd => "Apache httpd",
            Product::Caddy => "Caddy",
            Product::Lighttpd => "lighttpd",
            Product::Haproxy => "HAProxy",
            Product::Envoy => "Envoy",
            Product::Traefik => "Traefik",
            Product::AwsElb => "AWS Elastic Load Balancing",
            Product::CloudFront => "AWS CloudFront",
            Product::GoogleCloudLb => "the Google Cloud load balancer",
            Product::Cloudflare => "Cloudflare",
            Product::Varnish => "Varnish",
            Product::Akamai => "Akamai",
            Product::Heroku => "the Heroku router",
        }
    }

    /// How to make it pass the upgrade on to the backend; `None` when it
    /// does so by itself (then a refusal came from behind it).
    pub fn upgrade_fix(self) -> Option<&'static str> {
        Some(match self {
            Product::Nginx => {
                "proxy_http_version 1.1 plus proxy_set_header Upgrade $http_upgrade and proxy_set_header Connection \"upgrade\""
            }
            Product::ApacheHttpd => {
                "ProxyPass … upgrade=websocket (httpd 2.4.47+; older versions: a ws:// ProxyPass with mod_proxy_wstunnel)"
            }
            Product::Envoy => {
                "upgrade_configs with upgrade_type: websocket on the HTTP connection manager or the route (without it Envoy answers 403)"
            }
            Product::AwsElb => {
                "an ALB passes WebSockets on HTTP/HTTPS listeners; a classic ELB needs TCP or SSL listeners"
            }
            Product::CloudFront => {
                "forward the Sec-WebSocket-Key and Sec-WebSocket-Version headers to the origin (origin request policy)"
            }
            Product::Varnish => {
                "return (pipe) in vcl_recv when req.http.upgrade is websocket, copying the Upgrade header to bereq in vcl_pipe"
            }
            Product::Akamai => "the webSockets behavior in the property configuration",
            Product::Lighttpd => {
                "proxy.header = ( \"upgrade\" => \"enable\" ) in mod_proxy (lighttpd 1.4.46+)"
            }
            Product::Haproxy
            | Product::Caddy
            | Product::Traefik
            | Product::GoogleCloudLb
            | Product::Cloudflare
            | Product::Heroku => return None,
        })
    }

    /// The setting that cuts an upgraded connection without traffic, with
    /// its default, in the product's terms; `None` when no source gives one.
    pub fn idle_cut(self) -> Option<&'static str> {
        Some(match self {
            Product::Nginx => "proxy_read_timeout (default 60 s)",
            Product::ApacheHttpd => {
                "the ProxyPass timeout= parameter or ProxyTimeout (default: Timeout, 60 s)"
            }
            Product::Haproxy => {
                "timeout tunnel, which replaces timeout client and timeout server once the connection is upgraded (e.g. timeout tunnel 1h)"
            }
            Product::Envoy => "stream_idle_timeout (default 5 min)",
            Product::AwsElb => "the ALB idle timeout, idle_timeout.timeout_seconds (default 60 s)",
            Product::CloudFront => "the origin idle timeout (10 min)",
            Product::GoogleCloudLb => {
                "the backend service timeout (default 30 s), which caps the whole connection, not only idle time: raise timeoutSec"
            }
            Product::Cloudflare => "idle WebSockets are reset after about 100 s",
            Product::Heroku => "a 55 s window without data",
            Product::Caddy
            | Product::Lighttpd
            | Product::Traefik
            | Product::Varnish
            | Product::Akamai => return None,
        })
    }

    /// What its own error status means for a WebSocket upgrade, as a
    /// sentence, when the product documents it.
    pub fn status_meaning(self, status: u16) -> Option<&'static str> {
        Some(match (self, status) {
            (Product::Cloudflare, 520) => {
                "Cloudflare got an empty or unknown answer from the origin: see the origin's logs."
            }
            (Product::Cloudflare, 522) => {
                "Cloudflare could not open a TCP connection to the origin in time: the origin is down or its firewall drops Cloudflare's addresses."
            }
            (Product::Cloudflare, 524) => {
                "Cloudflare got no HTTP answer from the origin within 100 s: the origin is stuck before it answers the upgrade."
            }
            (Product::Envoy, 503) => {
                "Envoy could not connect to the upstream (\"upstream connect error\"): the backend is down, refuses, or its cluster has no healthy host."
            }
            (Product::Envoy, 403) => {
                "Envoy refuses upgrades it is not configured for: add upgrade_configs with upgrade_type: websocket."
            }
            (Product::Haproxy, 503) => {
                "HAProxy has no server available for this backend: every server is down in its health checks, or none is configured."
            }
            (Product::Haproxy, 504) => {
                "HAProxy's timeout server ran out before the backend answered the upgrade: a stuck backend, or a timeout server set too low."
            }
            (Product::Haproxy, 502) => {
                "The backend's answer was invalid or incomplete to HAProxy: the backend crashed mid-answer or does not speak HTTP."
            }
            (Product::ApacheHttpd, 503) => {
                "Apache httpd could not connect to the ProxyPass backend: it is down or refuses, and httpd then keeps that worker in error for retry= seconds (default 60) before trying again."
            }
            (Product::ApacheHttpd, 502) => {
                "The ProxyPass backend broke off or sent an invalid answer to Apache httpd."
            }
            (Product::Nginx, 502) => {
                "The nginx in front could not reach the upstream (refused or reset): check that the backend runs and the proxy_pass address."
            }
            (Product::Nginx, 504) => {
                "The nginx in front got no answer from the upstream within proxy_read_timeout (default 60 s); if some requests pass and others wait, look for requests downgraded to HTTP/1.0 on the way."
            }
            _ => return None,
        })
    }
}

fn first_match<const N: usize>(
    table: &[(&'static str, Product); N],
    matches: impl Fn(&str) -> bool,
) -> Option<Product> {
    table
        .iter()
        .find(|(signature, _)| matches(signature))
        .map(|&(_, product)| product)
}

#[cfg(test)]
#[path = "product_tests.rs"]
mod tests;
