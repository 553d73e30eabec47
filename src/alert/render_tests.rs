//! Rendering tests: every kind reads naturally in every format, JSON stays
//! JSON and HTML stays escaped whatever the input, secrets never show, and bad
//! overrides are refused at startup with their path.

use super::*;
use crate::alert::sample;
use crate::check::Class;
use crate::check::model::ResponseHead;
use serde_json::Value;
use std::io::Write as _;

fn builtin() -> Renderer {
    Renderer::new(&TemplateOverrides::default()).unwrap()
}

fn with_body(name: &str) -> Renderer {
    Renderer::new(&TemplateOverrides {
        body: Some(format!("{BUILTIN_PREFIX}{name}").into()),
        ..TemplateOverrides::default()
    })
    .unwrap()
}

/// Every rendered part of `n`, from every built-in template.
fn everything(n: &Notification) -> Vec<(&'static str, String)> {
    let email = builtin().render(ChannelKind::Email, n).unwrap();
    vec![
        ("subject", email.subject),
        ("text", email.text),
        ("html", email.html),
        ("file", builtin().render(ChannelKind::File, n).unwrap().text),
        (
            "webhook",
            builtin().render(ChannelKind::Webhook, n).unwrap().body,
        ),
        (
            "slack",
            with_body("slack.json.j2")
                .render(ChannelKind::Webhook, n)
                .unwrap()
                .body,
        ),
        (
            "chat",
            with_body("chat.json.j2")
                .render(ChannelKind::Webhook, n)
                .unwrap()
                .body,
        ),
    ]
}

#[test]
fn each_kind_reads_naturally_in_the_email() {
    let cases: [(NotificationKind, &str, &[&str]); 3] = [
        (
            NotificationKind::Down,
            "[wsprobe] DOWN chat-gateway: early_fin in open",
            &[
                "chat-gateway is DOWN: early_fin in open.",
                "First seen:   2026-05-01 10:00:00 UTC",
                "Evidence (2 attempts):",
            ],
        ),
        (
            NotificationKind::Recovered,
            "[wsprobe] RECOVERED chat-gateway after 5m 3s (was early_fin in open)",
            &[
                "chat-gateway has RECOVERED after 5m 3s down.",
                "The outage was early_fin in open.",
                "Outage:       5m 3s in total",
                "Evidence of the passing run:",
                "clean close (Close 1000 from the server, then its FIN)",
            ],
        ),
        (
            NotificationKind::Reminder,
            "[wsprobe] REMINDER chat-gateway still down for 1h: early_fin in open (was timeout)",
            &[
                "chat-gateway is still DOWN after 1h: early_fin in open.",
                "The failure changed: it was timeout when last reported.",
                "Class:        early_fin (was timeout)",
                "Down for:     1h",
            ],
        ),
    ];
    for (kind, subject, lines) in cases {
        let n = sample::notification(kind);
        let r = builtin().render(ChannelKind::Email, &n).unwrap();
        assert_eq!(r.subject, subject);
        for line in lines {
            assert!(
                r.text.contains(line),
                "{kind:?} text lacks {line:?}:\n{}",
                r.text
            );
        }
        assert!(
            r.text
                .contains(&format!("Hint:         {}", n.hint.as_deref().unwrap()))
        );
        assert!(!r.text.contains("\n\n\n"), "stray blank lines:\n{}", r.text);
        assert!(r.body.is_empty(), "email renders no webhook body");
    }
}

#[test]
fn the_evidence_of_every_attempt_is_in_every_format() {
    let n = sample::notification(NotificationKind::Down);
    let facts = [
        "early_fin",
        "open",
        "A proxy or load balancer closes idle connections",
        "Attempt #1",
        "Attempt #2",
        "HTTP/1.1 101 Switching Protocols",
        "nginx/1.25.3",
        "server closed first: Close 1001",
        "FIN at 60.05 s",
        "upgrade 12.0 ms",
        "2026-05-01",
    ];
    for (part, out) in everything(&n) {
        if part == "subject" {
            continue;
        }
        // Compare on decoded text: JSON and HTML escape quotes and slashes.
        let haystack = match serde_json::from_str::<Value>(&out) {
            Ok(v) => v.to_string().replace("\\\"", "\"").replace("\\n", "\n"),
            Err(_) if part == "html" => unescape_html(&out),
            Err(_) => out.clone(),
        };
        for fact in facts {
            // The default webhook carries evidence as the report's JSON.
            if part == "webhook"
                && matches!(
                    fact,
                    "Attempt #1"
                        | "Attempt #2"
                        | "FIN at 60.05 s"
                        | "upgrade 12.0 ms"
                        | "server closed first: Close 1001"
                )
            {
                continue;
            }
            assert!(haystack.contains(fact), "{part} lacks {fact:?}:\n{out}");
        }
    }
}

fn unescape_html(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn the_default_webhook_body_has_the_documented_fields() {
    let n = sample::notification(NotificationKind::Reminder);
    let body: Value =
        serde_json::from_str(&builtin().render(ChannelKind::Webhook, &n).unwrap().body).unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "at",
        "class",
        "classes_seen",
        "delivery_id",
        "failed_runs",
        "first_seen",
        "group",
        "hint",
        "incident_id",
        "kind",
        "labels",
        "link",
        "message",
        "monitor",
        "outage_secs",
        "phase",
        "previous_class",
        "report",
        "round",
        "url",
    ];
    expected.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected);
    assert_eq!(body["kind"], "reminder");
    assert_eq!(body["class"], "early_fin");
    assert_eq!(body["previous_class"], "timeout");
    assert_eq!(body["outage_secs"], 3600);
    assert_eq!(body["round"], Value::Null, "checked from one location");
    assert_eq!(body["group"], serde_json::json!([]), "one monitor's alert");
    assert_eq!(body["first_seen"], "2026-05-01T10:00:00Z");
    assert_eq!(
        body["incident_id"],
        sample::notification(NotificationKind::Down).incident_id()
    );
    assert_eq!(
        body["report"]["attempt_details"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn slack_and_chat_bodies_fit_their_formats() {
    let n = sample::notification(NotificationKind::Down);
    let slack: Value = serde_json::from_str(
        &with_body("slack.json.j2")
            .render(ChannelKind::Webhook, &n)
            .unwrap()
            .body,
    )
    .unwrap();
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("DOWN chat-gateway")
    );
    let blocks = slack["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    for b in blocks {
        let text = b["text"]["text"].as_str().unwrap_or_default();
        assert!(
            text.chars().count() <= 3000,
            "Slack rejects sections over 3000"
        );
    }
    let chat: Value = serde_json::from_str(
        &with_body("chat.json.j2")
            .render(ChannelKind::Webhook, &n)
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(chat.as_object().unwrap().len(), 1, "only a text field");
    assert!(
        chat["text"]
            .as_str()
            .unwrap()
            .starts_with(":red_circle: *DOWN chat-gateway")
    );
}

/// A notification whose every string is trying to break out of its format.
fn hostile() -> Notification {
    let evil = "he said \"hi\" \\ \n</script><script>alert(1)</script> & <b>ünï☃</b> \u{2028} {{ x }} '\t\r";
    let mut n = sample::notification(NotificationKind::Reminder);
    n.monitor = format!("mon {evil}");
    n.message = Some(format!("msg {evil}"));
    n.hint = Some(format!("hint {evil}"));
    let attempt = &mut n.report.as_mut().unwrap().attempt_details[0];
    attempt.response = Some(ResponseHead {
        version: "HTTP/1.1".into(),
        status: 503,
        reason: evil.into(),
        headers: vec![("X-Evil".into(), evil.into())],
        body_snippet: Some(evil.into()),
    });
    attempt.events[0].what = evil.into();
    n
}

#[test]
fn hostile_strings_still_give_valid_json_and_escaped_html() {
    let n = hostile();
    for (part, out) in everything(&n) {
        match part {
            "webhook" | "slack" | "chat" => {
                let v: Value = serde_json::from_str(&out)
                    .unwrap_or_else(|e| panic!("{part} is not JSON ({e}):\n{out}"));
                if part == "webhook" {
                    assert_eq!(v["monitor"].as_str(), Some(n.monitor.as_str()));
                    assert_eq!(v["hint"].as_str(), n.hint.as_deref());
                }
                assert!(
                    !out.contains("</script>"),
                    "{part} must not carry a raw </script>"
                );
            }
            "html" => {
                assert!(!out.contains("<script>"), "unescaped script in html");
                assert!(!out.contains("<b>"), "unescaped tag in html");
                assert!(out.contains("&lt;b&gt;ünï☃&lt;&#x2f;b&gt;"), "{out}");
            }
            "subject" => {
                assert!(
                    !out.contains(['\n', '\r']),
                    "subject must be one line: {out:?}"
                );
                assert!(out.starts_with("[wsprobe] REMINDER mon he said"));
            }
            _ => assert!(out.contains("ünï☃"), "{part} keeps unicode"),
        }
    }
}

#[test]
fn secrets_in_a_report_never_reach_an_alert() {
    let mut n = sample::notification(NotificationKind::Down);
    n.url = "wss://chat.example.com/ws?room=1&access_token=tok-SECRET-1".into();
    let report = n.report.as_mut().unwrap();
    report.url = "wss://chat.example.com/ws?token=tok-SECRET-2".into();
    let attempt = &mut report.attempt_details[1];
    attempt.request.as_mut().unwrap().headers = vec![
        ("Authorization".into(), "Bearer tok-SECRET-3".into()),
        ("Cookie".into(), "sid=tok-SECRET-4".into()),
    ];
    attempt.response.as_mut().unwrap().headers = vec![
        ("Set-Cookie".into(), "sid=tok-SECRET-5".into()),
        ("Server".into(), "nginx".into()),
    ];
    for (part, out) in everything(&n) {
        assert!(!out.contains("tok-SECRET"), "{part} leaks a secret:\n{out}");
    }
    let text = builtin().render(ChannelKind::Email, &n).unwrap().text;
    assert!(text.contains("Set-Cookie: [redacted]"));
    assert!(text.contains("access_token=***"));
}

fn override_file(contents: &str, suffix: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    f.write_all(contents.as_bytes()).unwrap();
    f
}

#[test]
fn a_channel_override_replaces_the_built_in_template() {
    let subject = override_file("ALERT {{ monitor }} {{ class }}\n", ".j2");
    let body = override_file(
        r#"{"m": {{ monitor|tojson }}, "n": {{ attempts|length }}}"#,
        ".j2",
    );
    let r = Renderer::new(&TemplateOverrides {
        subject: Some(subject.path().into()),
        body: Some(body.path().into()),
        ..TemplateOverrides::default()
    })
    .unwrap();
    let n = sample::notification(NotificationKind::Down);
    assert_eq!(
        r.render(ChannelKind::Email, &n).unwrap().subject,
        "ALERT chat-gateway early_fin"
    );
    assert_eq!(
        r.render(ChannelKind::Webhook, &n).unwrap().body,
        r#"{"m": "chat-gateway", "n": 2}"#
    );
    assert!(
        r.render(ChannelKind::Email, &n)
            .unwrap()
            .text
            .contains("is DOWN"),
        "others stay built-in"
    );
}

#[test]
fn a_bad_override_is_refused_at_startup_naming_its_path() {
    let syntax = override_file("{% if %}", ".j2");
    let runtime = override_file("{{ nosuchfn() }}", ".j2");
    let not_json = override_file("monitor={{ monitor }}", ".j2");
    let cases: [(TemplateOverrides, String, &str); 5] = [
        (
            TemplateOverrides {
                text: Some(syntax.path().into()),
                ..Default::default()
            },
            syntax.path().display().to_string(),
            "syntax error",
        ),
        (
            TemplateOverrides {
                html: Some(runtime.path().into()),
                ..Default::default()
            },
            runtime.path().display().to_string(),
            "unknown function",
        ),
        (
            TemplateOverrides {
                body: Some(not_json.path().into()),
                ..Default::default()
            },
            not_json.path().display().to_string(),
            "did not produce valid JSON",
        ),
        (
            TemplateOverrides {
                subject: Some("/nonexistent/subject.j2".into()),
                ..Default::default()
            },
            "/nonexistent/subject.j2".into(),
            "No such file",
        ),
        (
            TemplateOverrides {
                body: Some("builtin:teams.json.j2".into()),
                ..Default::default()
            },
            "builtin:teams.json.j2".into(),
            "no built-in template \"teams.json.j2\"",
        ),
    ];
    for (overrides, path, reason) in cases {
        let err = Renderer::new(&overrides).unwrap_err().to_string();
        assert!(err.contains(&path) && err.contains(reason), "{err}");
    }
}

#[test]
fn a_class_change_shows_only_on_reminders_that_have_one() {
    let mut n = sample::notification(NotificationKind::Reminder);
    n.previous_class = None;
    let text = builtin().render(ChannelKind::Email, &n).unwrap().text;
    assert!(!text.contains("was "), "{text}");
    n.previous_class = Some(Class::Missing101);
    let r = builtin().render(ChannelKind::Email, &n).unwrap();
    assert!(r.subject.ends_with("(was missing_101)"), "{}", r.subject);
    assert!(
        r.html.contains("it was <strong>missing_101</strong>"),
        "{}",
        r.html
    );
}

#[test]
fn the_default_webhook_body_carries_the_delivery_id_and_null_outside_a_delivery() {
    let n = sample::notification(NotificationKind::Down);
    let id = crate::alert::DeliveryId::for_outbox_row(42, "hook", n.at);
    let body = |id| -> Value {
        let r = builtin()
            .render_delivery(ChannelKind::Webhook, &n, id)
            .unwrap();
        serde_json::from_str(&r.body).unwrap()
    };
    assert_eq!(body(Some(&id))["delivery_id"], id.as_str());
    assert_eq!(body(None)["delivery_id"], Value::Null);
}

#[test]
fn built_in_templates_use_a_small_part_of_the_render_budget() {
    let r = builtin();
    for kind in [
        NotificationKind::Down,
        NotificationKind::Recovered,
        NotificationKind::Reminder,
    ] {
        let view = context(&sample::notification(kind), None);
        for (name, _) in BUILTIN {
            let template = r.env.get_template(name).unwrap();
            let captured = template.render_captured(&view).unwrap();
            let (used, _) = captured.state().fuel_levels().expect("fuel is on");
            eprintln!("{name} {kind:?}: {used} fuel");
            assert!(used * 20 < budget::FUEL, "{name} {kind:?}: {used} fuel");
        }
    }
}
