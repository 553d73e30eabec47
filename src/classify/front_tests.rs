//! The answer's own words and the product in front: every [`Refusal`] has its
//! hint, and a named product's fix replaces the list of the common ones.

use super::missing_101::stated_refusal_hint;
use super::tests::{early, response};
use super::*;
use crate::check::challenge::challenges;
use crate::check::model::{PeerEnd, ResponseHead};
use crate::refusal::Refusal;

/// The words the hint for `refusal` must contain. The match is exhaustive: a
/// new refusal does not compile until its hint is decided here.
fn refusal_words(refusal: &Refusal) -> &'static [&'static str] {
    match refusal {
        Refusal::PlainHttpToTlsPort => &["wss://"],
        Refusal::SubprotocolRequired { named: Some(_) } => &["--subprotocol mqtt"],
        Refusal::SubprotocolRequired { named: None } => &["Sec-WebSocket-Protocol", "NAME"],
        Refusal::CredentialsWanted {
            by_proxy: false, ..
        } => &[
            "Bearer (realm \"api\") or Basic (realm \"ops\") authentication: --header 'Authorization: Bearer …'",
        ],
        Refusal::CredentialsWanted { by_proxy: true, .. } => &["A proxy wants", "proxy URL"],
    }
}

#[test]
fn every_refusal_says_what_to_change() {
    let refusals = [
        Refusal::PlainHttpToTlsPort,
        Refusal::SubprotocolRequired {
            named: Some("mqtt".into()),
        },
        Refusal::SubprotocolRequired { named: None },
        Refusal::CredentialsWanted {
            by_proxy: false,
            challenges: challenges("Bearer realm=\"api\", Basic realm=\"ops\""),
        },
        Refusal::CredentialsWanted {
            by_proxy: true,
            challenges: challenges("Basic realm=\"squid\""),
        },
    ];
    for refusal in refusals {
        let hint = stated_refusal_hint(&refusal);
        for word in refusal_words(&refusal) {
            assert!(
                hint.contains(word),
                "{refusal:?} should say {word:?}: {hint}"
            );
        }
    }
}

fn answer_from(server: &str, status: u16) -> ResponseHead {
    ResponseHead {
        headers: vec![("Server".into(), server.into())],
        ..response("HTTP/1.1", status)
    }
}

#[test]
fn the_product_in_front_chooses_the_idle_timeout_and_an_unnamed_one_lists_the_usual_ones() {
    let idle = early(Phase::Open, Some(PeerEnd::Fin), Some(31_000.0), true);
    let behind = |server: &str| hint(&idle, Product::in_answer(&answer_from(server, 101)));
    let nginx = behind("nginx/1.22.1");
    assert!(nginx.contains("proxy_read_timeout"), "{nginx}");
    assert!(!nginx.contains("timeout tunnel"), "{nginx}");
    let unnamed = behind("Python/3.11 websockets/10.4");
    for word in [
        "proxy_read_timeout",
        "timeout tunnel",
        "idle_timeout.timeout_seconds",
    ] {
        assert!(unnamed.contains(word), "{word}: {unnamed}");
    }
}

#[test]
fn a_refused_upgrade_names_the_fix_of_the_product_that_answered() {
    let refused = |server: &str| CheckError::Missing101 {
        response: answer_from(server, 426),
    };
    // The refusal's own answer names the product, whatever the caller passes.
    let behind_caddy = hint(&refused("Caddy"), None);
    assert!(behind_caddy.contains("behind Caddy"), "{behind_caddy}");
    let apache = hint(&refused("Apache/2.4.62 (Debian)"), Some(Product::Nginx));
    assert!(apache.contains("upgrade=websocket"), "{apache}");
    assert!(!apache.contains("proxy_http_version"), "{apache}");
    let unnamed = hint(&refused("Python/3.11 websockets/10.4"), None);
    assert!(unnamed.contains("upgrade=websocket"), "{unnamed}");
    assert!(unnamed.contains("proxy_http_version 1.1"), "{unnamed}");
}
