//! The published JSON Schema of the report document: the checked-in
//! `docs/report.schema.json` is the one the types generate, and what the real
//! binary prints (`check --format json`) and the daemon serves
//! (`/api/monitors`) validates against it and reads back into the typed model
//! without losing a field.

mod check_run;
mod serve_support;
mod support;

use check_run::check;
use serde_json::Value;
use serve_support::Daemon;
use std::path::PathBuf;
use std::time::Duration;
use support::{Behavior, FaultServer, TestCa, Validity, refused_port};
use wsprobe::report::document::{ReportDocument, SCHEMA_VERSION, schema_json};

/// Set to rewrite the checked-in schema from the types.
const REGENERATE: &str = "WSPROBE_WRITE_SCHEMA";

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json")
}

fn checked_in_schema() -> Value {
    let text = std::fs::read_to_string(schema_path()).expect("docs/report.schema.json");
    serde_json::from_str(&text).expect("the checked-in schema is JSON")
}

/// Asserts `doc` validates against the checked-in schema, is the current
/// version, and reads back into [`ReportDocument`] unchanged.
fn assert_conforms(doc: &Value, what: &str) {
    let validator = jsonschema::validator_for(&checked_in_schema()).expect("a valid JSON Schema");
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{doc:#}");
    assert_eq!(doc["schema_version"], SCHEMA_VERSION, "{what}");
    let typed: ReportDocument = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("{what} does not read back ({e}):\n{doc:#}"));
    assert_eq!(
        &serde_json::to_value(&typed).expect("serialize"),
        doc,
        "{what}: reading the document back lost or changed a field"
    );
}

#[test]
fn the_checked_in_schema_is_the_one_the_types_generate() {
    let generated = schema_json();
    if std::env::var_os(REGENERATE).is_some() {
        std::fs::write(schema_path(), &generated).expect("write docs/report.schema.json");
    }
    let checked_in = std::fs::read_to_string(schema_path()).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/report.schema.json differs from the report types; regenerate it with\n  \
         {REGENERATE}=1 cargo test --test report_schema the_checked_in_schema\nand commit it"
    );
}

/// A change that makes a document invalid.
type Spoil = fn(&mut Value);

#[tokio::test]
async fn the_schema_rejects_a_document_the_model_could_not_read() {
    let server = FaultServer::start(Behavior::FinAfter101).await;
    let good = check(["--format", "json", "--timeout", "1s", &server.ws_url("/")])
        .await
        .json();
    let validator = jsonschema::validator_for(&checked_in_schema()).expect("a valid JSON Schema");
    assert!(validator.is_valid(&good), "{good:#}");
    let broken: [(&str, Spoil); 4] = [
        ("an unknown class", |d| d["class"] = "flaky".into()),
        ("no status", |d| {
            d.as_object_mut().unwrap().remove("status");
        }),
        ("evidence without its class", |d| {
            d["evidence"].as_object_mut().unwrap().remove("class");
        }),
        ("a header that is not a pair", |d| {
            d["response"]["headers"][0] = "Upgrade: websocket".into()
        }),
    ];
    for (what, spoil) in broken {
        let mut doc = good.clone();
        spoil(&mut doc);
        assert!(
            !validator.is_valid(&doc),
            "{what} passed the schema:\n{doc:#}"
        );
        assert!(
            serde_json::from_value::<ReportDocument>(doc).is_err(),
            "{what} still reads as a document"
        );
    }
}

/// One `wsprobe check` that must end in `class`.
struct Case {
    behavior: Behavior,
    args: &'static [&'static str],
    class: &'static str,
}

fn cases() -> Vec<Case> {
    let case = |behavior, args, class| Case {
        behavior,
        args,
        class,
    };
    vec![
        case(Behavior::Healthy, &[], "ok"),
        case(Behavior::SilentAfterRequest, &[], "timeout"),
        case(
            Behavior::http(503, "Service Unavailable", "down for maintenance"),
            &[],
            "missing_101",
        ),
        case(Behavior::BadAcceptKey, &[], "protocol_error"),
        case(Behavior::PingFlood, &[], "protocol_error"),
        case(
            Behavior::OversizedMessage(64 * 1024),
            &[
                "--no-ping",
                "--max-message-bytes",
                "3000",
                "--send",
                "bulk please",
                "--expect",
                ".",
            ],
            "protocol_error",
        ),
        case(Behavior::FinAfter101, &[], "early_fin"),
        case(
            Behavior::Reply("error: database down".into()),
            &["--send", "status", "--expect", "^ok"],
            "unexpected_message",
        ),
    ]
}

#[tokio::test]
async fn every_class_of_check_output_validates_against_the_schema() {
    for case in cases() {
        let server = FaultServer::start(case.behavior).await;
        let url = server.ws_url("/");
        let mut args = vec!["--format", "json", "--timeout", "1s", "--retries", "1"];
        args.extend_from_slice(case.args);
        args.push(&url);
        let run = check(args).await;
        let doc = run.json();
        assert_eq!(doc["class"], case.class, "{run}");
        assert_conforms(&doc, &format!("check of a {} server", case.class));
    }
}

#[tokio::test]
async fn a_refused_connection_and_a_tls_check_validate_against_the_schema() {
    let refused = format!("ws://{}/", refused_port().await);
    let run = check(["--format", "json", "--timeout", "1s", &refused]).await;
    assert_eq!(run.json()["class"], "connect_error", "{run}");
    assert_conforms(&run.json(), "check of a refused port");

    let ca = TestCa::new("wsprobe schema test CA");
    let server = FaultServer::start_tls(
        Behavior::Healthy,
        ca.server(&["127.0.0.1"], Validity::ExpiresInDays(10)),
    )
    .await;
    let url = format!("wss://{}/", server.addr);
    for (args, class) in [(vec![], "tls_error"), (vec!["--insecure"], "ok")] {
        let mut all = vec!["--format", "json", "--timeout", "2s"];
        all.extend(args);
        all.push(&url);
        let run = check(all).await;
        assert_eq!(run.json()["class"], class, "{run}");
        assert_conforms(&run.json(), &format!("TLS check ending in {class}"));
    }
}

#[tokio::test]
async fn the_reports_the_api_serves_validate_against_the_schema() {
    let healthy = FaultServer::start(Behavior::Healthy).await;
    let broken = FaultServer::start(Behavior::FinAfter101).await;
    let yaml = format!(
        "defaults:\n  schedule: \"@every 1h\"\n  timeout: 2s\nmonitors:\n  \
         - name: healthy\n    url: {}\n  - name: broken\n    url: {}\n",
        healthy.ws_url("/"),
        broken.ws_url("/")
    );
    let daemon = Daemon::start(&yaml).await;
    daemon.wait_for_checks(&["healthy", "broken"]).await;
    let list = daemon.get("/api/monitors").await.json();
    let mut seen = 0;
    for monitor in list["monitors"].as_array().expect("monitors") {
        for key in ["last_result", "last_failure"] {
            let report = &monitor[key]["report"];
            if !report.is_null() {
                assert_conforms(report, &format!("{} of {}", key, monitor["name"]));
                seen += 1;
            }
        }
    }
    // healthy: its last result; broken: its last result and its last failure.
    assert_eq!(seen, 3, "{list:#}");
    tokio::time::timeout(Duration::from_secs(10), daemon.stop())
        .await
        .expect("the daemon stops")
        .expect("clean stop");
}

#[test]
fn the_readme_documents_every_top_level_field_of_the_schema() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = readme
        .split("### JSON output")
        .nth(1)
        .and_then(|rest| rest.split("\n#").next())
        .expect("a JSON output section");
    // The first cell of each table row: "`bytes_sent`, `bytes_received`".
    let documented: std::collections::BTreeSet<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split(" |").next())
        .flat_map(|cell| cell.split(", "))
        .map(|name| name.trim_matches('`'))
        .collect();
    let schema = checked_in_schema();
    let fields: std::collections::BTreeSet<&str> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        documented, fields,
        "README's JSON output table vs the schema"
    );
}
