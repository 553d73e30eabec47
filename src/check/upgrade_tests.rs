//! Tests of the upgrade request and of 101 validation.
use super::*;
use crate::check::spec::CheckOptions;

fn spec(subprotocols: &[&str]) -> CheckSpec {
    let opts = CheckOptions {
        subprotocols: subprotocols.iter().map(|s| s.to_string()).collect(),
        proxy: crate::check::proxy::ProxySetting::None,
        ..CheckOptions::default()
    };
    CheckSpec::build("ws://127.0.0.1:1/", &opts).unwrap()
}

fn head_101(extra: &[(&str, &str)], key: &str) -> ResponseHead {
    let mut headers = vec![
        ("Upgrade".to_string(), "websocket".to_string()),
        ("Connection".to_string(), "keep-alive, Upgrade".to_string()),
        ("Sec-WebSocket-Accept".to_string(), accept_for(key)),
    ];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    ResponseHead {
        version: "HTTP/1.1".into(),
        status: 101,
        reason: "Switching Protocols".into(),
        headers,
        body_snippet: None,
    }
}

#[test]
fn accept_key_matches_the_rfc_example() {
    assert_eq!(
        accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn a_correct_101_is_accepted_and_reports_the_chosen_subprotocol() {
    let head = head_101(&[("Sec-WebSocket-Protocol", "chat")], "k");
    assert_eq!(
        validate_101(&head, "k", &spec(&["chat"])),
        Ok(Some("chat".into()))
    );
}

#[test]
fn each_broken_101_names_the_rule_it_broke() {
    let without = |name: &str| ResponseHead {
        headers: head_101(&[], "k")
            .headers
            .into_iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
            .collect(),
        ..head_101(&[], "k")
    };
    let cases: Vec<(ResponseHead, ProtocolRule)> = vec![
        (
            head_101(&[], "other-key"),
            ProtocolRule::WrongAccept {
                received: accept_for("other-key"),
                expected: accept_for("k"),
            },
        ),
        (without("sec-websocket-accept"), ProtocolRule::MissingAccept),
        (without("upgrade"), ProtocolRule::MissingUpgrade),
        (
            without("connection"),
            ProtocolRule::MissingConnectionUpgrade,
        ),
        (
            head_101(&[("Sec-WebSocket-Protocol", "x")], "k"),
            ProtocolRule::UnrequestedSubprotocol { chosen: "x".into() },
        ),
        (
            head_101(&[("Sec-WebSocket-Extensions", "permessage-deflate")], "k"),
            ProtocolRule::UnrequestedExtension {
                extension: "permessage-deflate".into(),
            },
        ),
        (
            ResponseHead {
                version: "HTTP/1.0".into(),
                ..head_101(&[], "k")
            },
            ProtocolRule::WrongHttpVersion {
                version: "HTTP/1.0".into(),
            },
        ),
    ];
    for (head, want) in cases {
        assert_eq!(validate_101(&head, "k", &spec(&[])), Err(want));
    }
}

#[test]
fn subprotocols_offered_and_none_chosen_or_another_chosen_name_what_was_offered() {
    let offered = spec(&["chat", "v2.chat"]);
    let want_offered = vec!["chat".to_string(), "v2.chat".to_string()];
    let cases: Vec<(Vec<(&str, &str)>, ProtocolRule)> = vec![
        (
            vec![],
            ProtocolRule::NoSubprotocolChosen {
                offered: want_offered.clone(),
            },
        ),
        (
            vec![("Sec-WebSocket-Protocol", " ")],
            ProtocolRule::NoSubprotocolChosen {
                offered: want_offered.clone(),
            },
        ),
        (
            vec![("Sec-WebSocket-Protocol", "mqtt")],
            ProtocolRule::UnofferedSubprotocol {
                chosen: "mqtt".into(),
                offered: want_offered.clone(),
            },
        ),
        (
            vec![("Sec-WebSocket-Protocol", "chat, v2.chat")],
            ProtocolRule::UnofferedSubprotocol {
                chosen: "chat, v2.chat".into(),
                offered: want_offered,
            },
        ),
    ];
    for (extra, want) in cases {
        assert_eq!(
            validate_101(&head_101(&extra, "k"), "k", &offered),
            Err(want)
        );
    }
    let second = head_101(&[("Sec-WebSocket-Protocol", "v2.chat")], "k");
    assert_eq!(
        validate_101(&second, "k", &offered),
        Ok(Some("v2.chat".into()))
    );
}

#[test]
fn the_request_record_hides_credentials_but_the_wire_carries_them() {
    let opts = CheckOptions {
        headers: vec!["Authorization: Bearer t0ken".into(), "X-Trace: 1".into()],
        proxy: crate::check::proxy::ProxySetting::None,
        ..CheckOptions::default()
    };
    let spec = CheckSpec::build("ws://h:8080/ws?x=1", &opts).unwrap();
    let (raw, record) = build_request(&spec, "k");
    assert!(raw.starts_with("GET /ws?x=1 HTTP/1.1\r\nHost: h:8080\r\n"));
    assert!(raw.contains("Authorization: Bearer t0ken\r\n"));
    assert!(raw.ends_with("\r\n\r\n"));
    let shown = format!("{record:?}");
    assert!(
        !shown.contains("t0ken") && shown.contains("X-Trace"),
        "{shown}"
    );
}

#[test]
fn the_request_record_hides_a_token_in_the_query_but_the_wire_carries_it() {
    let opts = CheckOptions {
        proxy: crate::check::proxy::ProxySetting::None,
        ..CheckOptions::default()
    };
    let spec = CheckSpec::build("ws://h/ws?room=1&access_token=t0ken", &opts).unwrap();
    let (raw, record) = build_request(&spec, "k");
    assert!(raw.starts_with("GET /ws?room=1&access_token=t0ken HTTP/1.1\r\n"));
    assert_eq!(record.line, "GET /ws?room=1&access_token=*** HTTP/1.1");
}
