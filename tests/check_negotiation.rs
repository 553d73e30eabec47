//! `wsprobe check` against servers whose 101 negotiates what the client did
//! not ask for, or nothing of what it offered (issue 10): each is a
//! `protocol_error` in `upgrade` naming what was offered and what came back.

mod check_run;
mod support;

use check_run::{assert_mentions, check, text};
use serde_json::{Value, json};
use support::{Behavior, FaultServer};

/// Checks a server with `behavior`, offering `subprotocols`; returns the
/// verdict, asserted to be a protocol error in upgrade breaking `rule`, and
/// the server, for what it saw.
async fn negotiation_error(
    behavior: Behavior,
    subprotocols: &[&str],
    rule: &str,
) -> (Value, FaultServer) {
    let server = FaultServer::start(behavior).await;
    let mut args = vec![
        "--format".to_string(),
        "json".into(),
        "--timeout".into(),
        "3s".into(),
    ];
    for p in subprotocols {
        args.extend(["--subprotocol".to_string(), p.to_string()]);
    }
    args.push(server.ws_url("/"));
    let v = check(&args)
        .await
        .verdict(2, "protocol_error", Some("upgrade"));
    assert_eq!(text(&v, "/evidence/rule"), rule, "{v:#}");
    (v, server)
}

#[tokio::test]
async fn subprotocols_offered_and_none_chosen_fail_as_browsers_fail_them() {
    let (v, server) = negotiation_error(
        Behavior::IgnoresSubprotocols,
        &["chat", "v2.chat"],
        "no_subprotocol_chosen",
    )
    .await;
    assert_eq!(
        v["evidence"]["offered"],
        json!(["chat", "v2.chat"]),
        "{v:#}"
    );
    assert_mentions(&v, "/message", &["no subprotocol", "\"chat\", \"v2.chat\""]);
    assert_mentions(
        &v,
        "/hint",
        &["Sec-WebSocket-Protocol", "browsers fail this connection"],
    );
    // The request did offer them: the server, not the client, dropped them.
    let records = server.records();
    assert!(
        records[0]
            .request_head
            .contains("Sec-WebSocket-Protocol: chat, v2.chat\r\n"),
        "{records:?}"
    );
}

#[tokio::test]
async fn a_credential_among_the_subprotocols_offered_stays_out_of_the_evidence() {
    let token = "czNjcjN0LXQwa2Vu";
    let credential = format!("base64url.bearer.authorization.k8s.io.{token}");
    let (v, _server) = negotiation_error(
        Behavior::IgnoresSubprotocols,
        &["chat", &credential],
        "no_subprotocol_chosen",
    )
    .await;
    let shown = v.to_string();
    assert!(!shown.contains(token), "{v:#}");
    assert_eq!(v["evidence"]["offered"][0], "chat", "{v:#}");
}

#[tokio::test]
async fn a_subprotocol_other_than_those_offered_names_both() {
    let (v, _server) = negotiation_error(
        Behavior::UnrequestedSubprotocol,
        &["chat"],
        "unoffered_subprotocol",
    )
    .await;
    assert_eq!(text(&v, "/evidence/chosen"), "surprise");
    assert_eq!(v["evidence"]["offered"], json!(["chat"]), "{v:#}");
    assert_mentions(&v, "/hint", &["did not offer"]);
}

#[tokio::test]
async fn an_extension_enabled_without_being_offered_is_named() {
    let (v, _server) =
        negotiation_error(Behavior::UnrequestedExtension, &[], "unrequested_extension").await;
    assert_eq!(text(&v, "/evidence/extension"), "permessage-deflate");
    assert_mentions(&v, "/message", &["\"permessage-deflate\"", "not requested"]);
    assert_mentions(&v, "/hint", &["did not offer"]);
}
