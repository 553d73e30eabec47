//! What to check and how: [`CheckOptions`] as a user writes them, validated into
//! a [`CheckSpec`] that cannot describe an impossible check. All input errors
//! are found here, before any socket is opened, so a bad option never leaves a
//! check half done.

use super::protocol::Protocol;
use super::proxy::{Proxy, ProxySetting};
use super::secrets::Secrets;
use super::steps::{Action, Payload, Step};
pub use super::target::{Credentials, Target};
use super::thresholds::Thresholds;
use super::tls::{TlsOptions, TlsSetup};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Default time budget of each waiting step and of one attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default window for the `cert_expiring` warning.
pub const DEFAULT_CERT_EXPIRY_WARN: Duration = Duration::from_secs(14 * 24 * 3600);
/// Largest WebSocket message or frame accepted from a server.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Per-check options, as given on the command line or in a monitor's config.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Budget of each waiting step and of the whole attempt, excluding `hold`.
    pub timeout: Duration,
    /// Budget of the TCP connect (defaults to `timeout`).
    pub connect_timeout: Option<Duration>,
    /// Extra request headers, as "Name: value".
    pub headers: Vec<String>,
    /// The Origin header.
    pub origin: Option<String>,
    /// Subprotocols to offer.
    pub subprotocols: Vec<String>,
    /// Send one ping after the upgrade and wait for its pong.
    pub ping: bool,
    /// While holding, ping this often.
    pub ping_every: Option<Duration>,
    /// Stay connected this long after the open checks.
    pub hold: Option<Duration>,
    /// The script run after the ping: sends, expectations, waits, in order.
    pub steps: Vec<Step>,
    /// `warning_over` / `critical_over` latency thresholds.
    pub thresholds: Thresholds,
    /// A protocol preset whose handshake runs before `steps`.
    pub protocol: Option<Protocol>,
    /// TLS settings.
    pub tls: TlsOptions,
    /// Warn when the certificate expires within this window.
    pub cert_expiry_warn: Duration,
    /// curl-style overrides, "HOST:PORT:ADDR".
    pub resolve: Vec<String>,
    /// Proxy: explicit URL, from the environment, or none.
    pub proxy: ProxySetting,
    /// Extra attempts after a failure.
    pub retries: u32,
    /// Pause between attempts.
    pub retry_delay: Duration,
    /// Largest message accepted from the server.
    pub max_message_bytes: usize,
    /// The local address to connect from (the proxy hop's too).
    pub source_address: Option<IpAddr>,
    /// Values to scrub from evidence besides the ones wsprobe finds itself
    /// (credential headers, URL userinfo and parameters): the `${VAR}`
    /// expansions a config put into what the check sends.
    pub secret_values: Vec<String>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            headers: Vec::new(),
            origin: None,
            subprotocols: Vec::new(),
            ping: true,
            ping_every: None,
            hold: None,
            steps: Vec::new(),
            thresholds: Thresholds::default(),
            protocol: None,
            tls: TlsOptions::default(),
            cert_expiry_warn: DEFAULT_CERT_EXPIRY_WARN,
            resolve: Vec::new(),
            proxy: ProxySetting::FromEnv,
            retries: 0,
            retry_delay: Duration::from_secs(1),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            source_address: None,
            secret_values: Vec::new(),
        }
    }
}

/// An input problem: the check was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The URL is not a usable ws:// or wss:// URL.
    #[error("invalid URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// An option's value is not usable.
    #[error("invalid {option} {value:?}: {reason}")]
    Option {
        /// The option, e.g. "--header".
        option: &'static str,
        /// The value given (never a secret: header values are not echoed).
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or parsed.
    #[error("{option} {path}: {reason}")]
    File {
        /// The option naming the file.
        option: &'static str,
        /// The path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// A `--resolve HOST:PORT:ADDR` override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOverride {
    /// Host name to match (case-insensitive).
    pub host: String,
    /// Port to match.
    pub port: u16,
    /// Address to use instead of DNS.
    pub addr: IpAddr,
}

impl ResolveOverride {
    /// Parse "HOST:PORT:ADDR"; ADDR may be a bracketed or bare IPv6 literal.
    pub fn parse(s: &str) -> Result<ResolveOverride, SpecError> {
        let bad = |reason: &str| SpecError::Option {
            option: "--resolve",
            value: s.to_string(),
            reason: reason.to_string(),
        };
        let mut parts = s.splitn(3, ':');
        let (Some(host), Some(port), Some(addr)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(
                "expected HOST:PORT:ADDR, e.g. example.com:443:10.0.0.7",
            ));
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| bad(&format!("port {port:?} is not a number from 0 to 65535")))?;
        let addr_str = addr.trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = addr_str
            .parse()
            .map_err(|_| bad(&format!("{addr:?} is not an IP address")))?;
        Ok(ResolveOverride {
            host: host.to_ascii_lowercase(),
            port,
            addr,
        })
    }
}

/// A validated check: every field is usable as is.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    /// The endpoint.
    pub target: Target,
    /// Budget of each waiting step and of one attempt (excluding hold).
    pub timeout: Duration,
    /// Budget of the TCP connect.
    pub connect_timeout: Duration,
    /// Extra request headers (name, value).
    pub headers: Vec<(String, String)>,
    /// Subprotocols offered.
    pub subprotocols: Vec<String>,
    /// Ping after the upgrade.
    pub ping: bool,
    /// Ping interval while holding.
    pub ping_every: Option<Duration>,
    /// How long to hold the connection open.
    pub hold: Option<Duration>,
    /// The script of the open phase.
    pub steps: Vec<Step>,
    /// Latency thresholds, applied to a passing attempt.
    pub thresholds: Thresholds,
    /// TLS client configuration (wss:// only).
    pub tls: Option<Arc<TlsSetup>>,
    /// Warning window for certificate expiry.
    pub cert_expiry_warn: Duration,
    /// The address to use instead of DNS, from `--resolve` or `--all-addresses`.
    pub pinned_addr: Option<IpAddr>,
    /// The proxy to tunnel through.
    pub proxy: Option<Proxy>,
    /// Extra attempts after a failure.
    pub retries: u32,
    /// Pause between attempts.
    pub retry_delay: Duration,
    /// Largest message accepted.
    pub max_message_bytes: usize,
    /// The local address every socket of the check is bound to.
    pub source_address: Option<IpAddr>,
    /// Every secret value this check sends, scrubbed from its report.
    pub secrets: Secrets,
}

impl CheckSpec {
    /// Validate options for one URL.
    pub fn build(url: &str, opts: &CheckOptions) -> Result<CheckSpec, SpecError> {
        let target = Target::parse(url)?;
        let tls = if target.secure {
            Some(Arc::new(TlsSetup::build(&opts.tls)?))
        } else {
            None
        };
        Self::build_with_tls(target, opts, tls)
    }

    /// Validate options for a parsed target, sharing an already built TLS setup
    /// (loading CA bundles is the costly part, so many monitors share one).
    pub fn build_with_tls(
        target: Target,
        opts: &CheckOptions,
        tls: Option<Arc<TlsSetup>>,
    ) -> Result<CheckSpec, SpecError> {
        if opts.timeout.is_zero() {
            return Err(SpecError::Option {
                option: "--timeout",
                value: "0s".into(),
                reason: "must be greater than zero".into(),
            });
        }
        if let Some(every) = opts.ping_every
            && every.is_zero()
        {
            return Err(SpecError::Option {
                option: "--ping-every",
                value: "0s".into(),
                reason: "must be greater than zero".into(),
            });
        }
        let mut headers = Vec::with_capacity(opts.headers.len() + 2);
        for raw in &opts.headers {
            headers.push(parse_header(raw)?);
        }
        if let Some(basic) = target.basic_auth(&headers)? {
            headers.push(basic);
        }
        if let Some(origin) = &opts.origin {
            check_header_value("--origin", origin)?;
            headers.push(("Origin".to_string(), origin.clone()));
        }
        for p in &opts.subprotocols {
            if p.is_empty() || !p.bytes().all(is_token_byte) {
                return Err(SpecError::Option {
                    option: "--subprotocol",
                    value: p.clone(),
                    reason: "must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)".into(),
                });
            }
        }
        let mut pinned_addr = target.ip_literal();
        for raw in &opts.resolve {
            let o = ResolveOverride::parse(raw)?;
            if o.host.eq_ignore_ascii_case(&target.host) && o.port == target.port {
                pinned_addr = Some(o.addr);
            }
        }
        let proxy = opts.proxy.select(&target)?;
        let secrets = Secrets::of_check(
            &target,
            &headers,
            &opts.subprotocols,
            proxy.as_ref(),
            &opts.secret_values,
        );
        Ok(CheckSpec {
            connect_timeout: opts.connect_timeout.unwrap_or(opts.timeout),
            timeout: opts.timeout,
            headers,
            subprotocols: opts.subprotocols.clone(),
            ping: opts.ping,
            ping_every: opts.ping_every,
            hold: opts.hold.filter(|h| !h.is_zero()),
            steps: opts
                .protocol
                .iter()
                .flat_map(|p| p.steps())
                .chain(opts.steps.iter().cloned())
                .collect(),
            thresholds: opts.thresholds.clone(),
            tls,
            cert_expiry_warn: opts.cert_expiry_warn,
            pinned_addr,
            proxy,
            retries: opts.retries,
            retry_delay: opts.retry_delay,
            max_message_bytes: opts.max_message_bytes,
            source_address: opts.source_address,
            secrets,
            target: match opts.protocol {
                Some(p) => Target {
                    resource: p.resource(&target.resource),
                    ..target
                },
                None => target,
            },
        })
    }

    /// The same check, pinned to one address (for `--all-addresses`).
    pub fn pinned_to(&self, addr: IpAddr) -> CheckSpec {
        CheckSpec {
            pinned_addr: Some(addr),
            ..self.clone()
        }
    }

    /// The URL fit for evidence: userinfo and credential parameters masked
    /// by name, and every other secret value (a `${VAR}` in the path)
    /// scrubbed. Reports, the page and the API all show this.
    pub fn shown_url(&self) -> String {
        let mut url = super::redact::redact_url(&self.target.url);
        self.secrets.scrub_str(&mut url);
        url
    }

    /// The largest frame this check may send: its largest message, with
    /// every captured value (each at most one received message) in place.
    pub fn largest_send(&self) -> usize {
        self.steps
            .iter()
            .filter_map(|step| match &step.action {
                Action::Send(Payload::Text(t)) => {
                    let (bytes, refs) = t.size();
                    Some(bytes + refs * self.max_message_bytes)
                }
                Action::Send(Payload::Binary(b)) => Some(b.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// The address the connect phase will use when no DNS is needed.
    pub fn pinned_socket(&self) -> Option<SocketAddr> {
        self.pinned_addr
            .map(|ip| SocketAddr::new(ip, self.target.port))
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn check_header_value(option: &'static str, value: &str) -> Result<(), SpecError> {
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(SpecError::Option {
            option,
            value: "(value hidden)".into(),
            reason: "header values cannot contain CR, LF or NUL".into(),
        });
    }
    Ok(())
}

/// Headers wsprobe writes itself; overriding them would break the upgrade.
const RESERVED_HEADERS: [&str; 6] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
];

/// Parse "Name: value" into a header pair.
pub fn parse_header(raw: &str) -> Result<(String, String), SpecError> {
    let Some((name, value)) = raw.split_once(':') else {
        return Err(SpecError::Option {
            option: "--header",
            value: raw.split(':').next().unwrap_or_default().to_string(),
            reason: "expected 'Name: value'".into(),
        });
    };
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(SpecError::Option {
            option: "--header",
            value: name.to_string(),
            reason: "header name must be an HTTP token".into(),
        });
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(SpecError::Option {
            option: "--header",
            value: name.to_string(),
            reason:
                "wsprobe sets this header itself (use --subprotocol for Sec-WebSocket-Protocol)"
                    .into(),
        });
    }
    let value = value.trim();
    check_header_value("--header", value)?;
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_override_accepts_ipv4_and_bracketed_ipv6() {
        let o = ResolveOverride::parse("Example.com:443:10.0.0.7").unwrap();
        assert_eq!((o.host.as_str(), o.port), ("example.com", 443));
        let o = ResolveOverride::parse("example.com:443:[::1]").unwrap();
        assert_eq!(o.addr, "::1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn resolve_override_names_what_is_wrong() {
        let e = ResolveOverride::parse("example.com:http:1.2.3.4").unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
        let e = ResolveOverride::parse("example.com:80").unwrap_err();
        assert!(e.to_string().contains("HOST:PORT:ADDR"), "{e}");
    }

    #[test]
    fn header_parsing_rejects_reserved_and_malformed_names() {
        assert_eq!(
            parse_header("X-Test:  a b ").unwrap(),
            ("X-Test".into(), "a b".into())
        );
        assert!(parse_header("Upgrade: h2c").is_err());
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("Bad Name: x").is_err());
    }

    #[test]
    fn a_rejected_header_value_is_never_echoed() {
        let e = parse_header("Authorization: Bearer s3cret\r\nX: y").unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }

    #[test]
    fn resolve_pins_only_the_matching_host_and_port() {
        let opts = CheckOptions {
            resolve: vec!["other:80:10.0.0.1".into(), "svc:80:10.0.0.2".into()],
            proxy: ProxySetting::None,
            ..CheckOptions::default()
        };
        let spec = CheckSpec::build("ws://svc/", &opts).unwrap();
        assert_eq!(spec.pinned_addr, Some("10.0.0.2".parse().unwrap()));
    }
}
