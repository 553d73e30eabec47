//! Which targets `/probe` may check, so the endpoint never becomes an open
//! proxy into the network: the URL of a configured monitor, or a URL matching
//! one of the `allow_probe_targets` patterns of `monitors.yaml`.
//!
//! A pattern is a ws:// or wss:// URL in which `*` stands for any run of
//! characters. It is matched part by part against the parsed target, never as
//! one string, so `wss://*.example.com/*` cannot be satisfied by
//! `wss://evil.test/?.example.com/`:
//! * scheme: equal;
//! * host: glob, case-insensitive (`*.example.com` also matches `a.b.example.com`);
//! * port: glob against the port number; a pattern without a port allows only
//!   the scheme's default port;
//! * path and query: glob; a pattern without a path allows only `/`, so write
//!   `/*` to allow every path.

use crate::check::spec::Target;
use crate::config::Config;

/// Why `/probe` may check a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// It is the URL of the monitor at this index of `config.monitors`.
    Monitor(usize),
    /// It matches the `allow_probe_targets` pattern at this index.
    Pattern(usize),
}

/// The reason a target is refused, for the 403 body. It names no pattern:
/// the allow-list is configuration, not something to show every caller.
pub fn refusal(config: &Config) -> String {
    if config.allow_probe_targets.is_empty() {
        "target refused: it is not the URL of a configured monitor, and \
         allow_probe_targets is empty in monitors.yaml"
            .to_string()
    } else {
        format!(
            "target refused: it is not the URL of a configured monitor and matches none of \
             the {} allow_probe_targets patterns in monitors.yaml",
            config.allow_probe_targets.len()
        )
    }
}

/// May `/probe` check `target`? Monitors are tried first, so a monitor's own
/// options (headers, TLS) apply to its URL.
pub fn authorize(config: &Config, target: &Target) -> Option<Allowed> {
    let monitor = config.monitors.iter().position(|m| {
        Target::parse(&m.url)
            .map(|t| same_endpoint(&t, target))
            .unwrap_or(false)
    });
    if let Some(index) = monitor {
        return Some(Allowed::Monitor(index));
    }
    config
        .allow_probe_targets
        .iter()
        .position(|p| pattern_matches(p, target))
        .map(Allowed::Pattern)
}

/// Two URLs naming the same endpoint and resource (`wss://h/` and `wss://H:443/` are equal).
fn same_endpoint(a: &Target, b: &Target) -> bool {
    a.secure == b.secure
        && a.host.eq_ignore_ascii_case(&b.host)
        && a.port == b.port
        && a.resource == b.resource
}

/// Does the URL pattern `pattern` allow `target`? A malformed pattern allows nothing.
pub fn pattern_matches(pattern: &str, target: &Target) -> bool {
    let Some((scheme, rest)) = pattern.split_once("://") else {
        return false;
    };
    let secure = match scheme.to_ascii_lowercase().as_str() {
        "ws" => false,
        "wss" => true,
        _ => return false,
    };
    if secure != target.secure {
        return false;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let Some((host, port)) = split_authority(authority) else {
        return false;
    };
    let port_ok = match port {
        Some(port) => glob(port, &target.port.to_string()),
        None => target.port == if secure { 443 } else { 80 },
    };
    port_ok
        && glob(
            &host.to_ascii_lowercase(),
            &target.host.to_ascii_lowercase(),
        )
        && glob(path, &target.resource)
}

/// `host[:port]`, with `[v6]` brackets removed. `None` when there is userinfo
/// or the brackets are unbalanced.
fn split_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((authority, None)),
    }
}

/// Glob match where `*` is any run of characters (possibly empty) and every
/// other character stands for itself.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).expect("valid target")
    }

    #[test]
    fn patterns_match_part_by_part() {
        let cases = [
            // (pattern, target, allowed)
            ("wss://*.example.com/*", "wss://chat.example.com/ws", true),
            (
                "wss://*.example.com/*",
                "wss://a.b.example.com/ws?x=1",
                true,
            ),
            ("wss://*.example.com/*", "wss://example.com/ws", false),
            ("wss://*.example.com/*", "ws://chat.example.com/ws", false),
            (
                "wss://*.example.com/*",
                "wss://chat.example.com:8443/ws",
                false,
            ),
            (
                "wss://*.example.com/*",
                "wss://evil.test/?.example.com/",
                false,
            ),
            (
                "wss://*.example.com/*",
                "wss://evil.test/.example.com/",
                false,
            ),
            ("wss://*.example.com", "wss://chat.example.com/", true),
            ("wss://*.example.com", "wss://chat.example.com/ws", false),
            ("ws://127.0.0.1:*/*", "ws://127.0.0.1:9000/anything", true),
            ("ws://127.0.0.1:*/*", "ws://127.0.0.10:9000/", false),
            ("ws://127.0.0.1:9*/*", "ws://127.0.0.1:8000/", false),
            ("ws://[::1]:*/*", "ws://[::1]:8080/x", true),
            (
                "WSS://CHAT.Example.com/ws",
                "wss://chat.example.COM/ws",
                true,
            ),
            (
                "wss://chat.example.com/ws",
                "wss://chat.example.com:443/ws",
                true,
            ),
            (
                "wss://chat.example.com/ws",
                "wss://chat.example.com/WS",
                false,
            ),
            ("https://*/*", "wss://chat.example.com/ws", false),
            ("wss://user@*/*", "wss://chat.example.com/ws", false),
            ("not a pattern", "wss://chat.example.com/ws", false),
        ];
        for (pattern, url, allowed) in cases {
            assert_eq!(
                pattern_matches(pattern, &target(url)),
                allowed,
                "{pattern} against {url}"
            );
        }
    }

    #[test]
    fn glob_stars_match_any_run_including_none() {
        let cases = [
            ("*", "", true),
            ("a*c", "abbbc", true),
            ("a*c", "ac", true),
            ("a*c", "acb", false),
            ("*b*", "abc", true),
            ("a**", "a", true),
            ("abc", "abd", false),
        ];
        for (p, t, expected) in cases {
            assert_eq!(glob(p, t), expected, "{p} vs {t}");
        }
    }

    #[test]
    fn monitor_urls_are_allowed_even_without_patterns_and_others_are_refused() {
        let config = crate::config::load_str(
            "monitors:\n  - { name: api, url: \"ws://127.0.0.1:9000/ws\" }\n",
            std::path::Path::new("monitors.yaml"),
            &|_| None,
        )
        .expect("valid config");
        assert_eq!(
            authorize(&config, &target("ws://127.0.0.1:9000/ws")),
            Some(Allowed::Monitor(0))
        );
        assert_eq!(authorize(&config, &target("ws://127.0.0.1:9001/ws")), None);
        assert!(refusal(&config).contains("allow_probe_targets is empty"));
    }
}
