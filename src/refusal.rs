//! What a refused upgrade's answer says beyond its status code: a plain HTTP
//! request that reached a TLS port, a server that wants a subprotocol, an
//! authentication challenge. Each is read from the protocol's own headers
//! (`WWW-Authenticate`, `Sec-WebSocket-Protocol`) or from the wording the
//! servers document for that error, into a [`Refusal`]; its hint, a function
//! of it, is in `classify::missing_101`.

use crate::check::challenge::{Challenge, challenges};
use crate::check::model::ResponseHead;

/// Wordings of "a plain HTTP request reached the TLS listener", as the
/// servers write them in the reason or body of their 400.
const PLAIN_HTTP_TO_TLS: [&str; 4] = [
    // nginx
    "the plain http request was sent to https port",
    // Apache httpd
    "speaking plain http to an ssl-enabled server port",
    // Go's net/http (Caddy, Traefik and most Go servers)
    "client sent an http request to an https server",
    // lighttpd
    "plain http request sent to https port",
];

/// Words by which an answer's text refers to the subprotocol.
const SUBPROTOCOL_WORDS: [&str; 2] = ["subprotocol", "sec-websocket-protocol"];

/// A refusal that says why, beyond its status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A `ws://` request reached a port that speaks TLS.
    PlainHttpToTlsPort,
    /// The server wants a subprotocol this request did not offer (or it
    /// does not support the one offered), naming it when the answer does.
    SubprotocolRequired {
        /// A protocol the answer names.
        named: Option<String>,
    },
    /// `401` (or `407`) with the challenges the server sent.
    CredentialsWanted {
        /// True for a proxy's `407` with `Proxy-Authenticate`.
        by_proxy: bool,
        /// What the server asks for, in its order of preference.
        challenges: Vec<Challenge>,
    },
}

impl Refusal {
    /// The refusal `answer` states, if it states one.
    pub fn read(answer: &ResponseHead) -> Option<Refusal> {
        let text = format!(
            "{} {}",
            answer.reason,
            answer.body_snippet.as_deref().unwrap_or("")
        )
        .to_ascii_lowercase();
        if answer.status == 400 && PLAIN_HTTP_TO_TLS.iter().any(|w| text.contains(w)) {
            return Some(Refusal::PlainHttpToTlsPort);
        }
        let challenge_header = match answer.status {
            401 => Some(("www-authenticate", false)),
            407 => Some(("proxy-authenticate", true)),
            _ => None,
        };
        if let Some((name, by_proxy)) = challenge_header
            && let Some(value) = answer.header(name)
        {
            return Some(Refusal::CredentialsWanted {
                by_proxy,
                challenges: challenges(value),
            });
        }
        let listed = answer.header("sec-websocket-protocol");
        if (400..500).contains(&answer.status)
            && (listed.is_some() || SUBPROTOCOL_WORDS.iter().any(|w| text.contains(w)))
        {
            let body = answer.body_snippet.as_deref().unwrap_or("");
            let named = listed
                .and_then(|l| l.split(',').map(str::trim).find(|p| !p.is_empty()))
                .map(str::to_string)
                .or_else(|| quoted_protocol_name(&format!("{} {body}", answer.reason)));
            return Some(Refusal::SubprotocolRequired { named });
        }
        None
    }
}

/// The first quoted word that looks like a protocol name (`"graphql-ws"`,
/// `'mqtt'`, `` `v1.chat` ``), as servers quote the protocol they expect.
fn quoted_protocol_name(text: &str) -> Option<String> {
    ['"', '\'', '`'].into_iter().find_map(|quote| {
        text.split(quote)
            .skip(1)
            .step_by(2)
            .find(|word| is_protocol_token(word))
            .map(str::to_string)
    })
}

/// An RFC 6455 subprotocol is an HTTP token; names in use are short words
/// with `.`, `-`, `_`, `+` or `/`, and never the header's own name.
fn is_protocol_token(word: &str) -> bool {
    !word.is_empty()
        && word.len() <= 64
        && !word.eq_ignore_ascii_case("sec-websocket-protocol")
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+/".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, reason: &str, headers: &[(&str, &str)], body: &str) -> ResponseHead {
        ResponseHead {
            version: "HTTP/1.1".into(),
            status,
            reason: reason.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body_snippet: Some(body.into()),
        }
    }

    fn subprotocol(named: Option<&str>) -> Option<Refusal> {
        Some(Refusal::SubprotocolRequired {
            named: named.map(str::to_string),
        })
    }

    #[test]
    fn each_refusal_is_read_from_what_the_servers_write() {
        let table = [
            (
                answer(
                    400,
                    "Bad Request",
                    &[],
                    "<center>The plain HTTP request was sent to HTTPS port</center>",
                ),
                Some(Refusal::PlainHttpToTlsPort),
            ),
            (
                answer(
                    400,
                    "Bad Request",
                    &[],
                    "Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />",
                ),
                Some(Refusal::PlainHttpToTlsPort),
            ),
            (
                answer(
                    400,
                    "Bad Request",
                    &[],
                    "Client sent an HTTP request to an HTTPS server.\n",
                ),
                Some(Refusal::PlainHttpToTlsPort),
            ),
            (
                answer(
                    400,
                    "Bad Request",
                    &[],
                    "Failed to open a WebSocket connection: missing subprotocol.\n",
                ),
                subprotocol(None),
            ),
            (
                answer(
                    400,
                    "Bad Request",
                    &[],
                    "Unsupported subprotocol; expected 'graphql-transport-ws'",
                ),
                subprotocol(Some("graphql-transport-ws")),
            ),
            (
                answer(
                    426,
                    "Upgrade Required",
                    &[("Sec-WebSocket-Protocol", "mqtt, mqttv3.1")],
                    "",
                ),
                subprotocol(Some("mqtt")),
            ),
            (
                answer(
                    400,
                    "Missing \"Sec-WebSocket-Protocol\" header: \"v1.chat\"",
                    &[],
                    "",
                ),
                subprotocol(Some("v1.chat")),
            ),
            (
                answer(
                    401,
                    "Unauthorized",
                    &[("WWW-Authenticate", "Basic realm=\"ops\"")],
                    "",
                ),
                Some(Refusal::CredentialsWanted {
                    by_proxy: false,
                    challenges: vec![Challenge {
                        scheme: "Basic".into(),
                        realm: Some("ops".into()),
                    }],
                }),
            ),
            (answer(401, "Unauthorized", &[], ""), None),
            (
                answer(400, "Bad Request", &[], "missing Connection header"),
                None,
            ),
            (
                answer(500, "Error", &[], "subprotocol handler crashed"),
                None,
            ),
        ];
        for (head, want) in table {
            assert_eq!(Refusal::read(&head), want, "{head:?}");
        }
    }
}
