//! Every config snippet in the docs validates: each fenced ```yaml block of
//! README.md and templates/README.md goes through the real `wsprobe
//! validate`, and a snippet that fails names its file and line.
//!
//! Conventions, for whoever writes a snippet:
//! * A ```yaml block is a wsprobe config unless its first line is a comment
//!   naming another file (`# prometheus.yml`): those belong to other tools.
//! * A snippet without a top-level `monitors:` (a `settings:` or `channels:`
//!   excerpt) is completed with one monitor, [`FILLER_MONITOR`].
//! * `${VAR}`s the docs use are set to placeholder values ([`ENV`]); relative
//!   paths resolve in a scratch directory, so `./alerts.log` is fine.

mod daemon_support;
mod support_http;

use daemon_support::{Daemon, SOON, Scratch};
use std::ffi::OsStr;
use std::path::Path;

/// The documents whose snippets are checked.
const DOCS: [&str; 2] = ["README.md", "templates/README.md"];

/// What completes a snippet that has no monitors.
const FILLER_MONITOR: &str =
    "monitors:\n  - { name: readme-snippet, url: \"wss://example.com/ws\" }\n";

/// The environment variables the docs' snippets reference.
const ENV: [(&str, &str); 13] = [
    ("CHAT_TOKEN", "placeholder-chat-token"),
    ("SMTP_PASSWORD", "placeholder-smtp-password"),
    ("HOOK_SECRET", "placeholder-hook-secret"),
    ("PGPASSWORD", "placeholder-pg-password"),
    ("HC_UUID", "placeholder-uuid"),
    ("PAGERDUTY_ROUTING_KEY", "placeholder-routing-key"),
    ("OPSGENIE_API_KEY", "placeholder-genie-key"),
    (
        "SLACK_WEBHOOK_URL",
        "https://hooks.slack.com/services/T0/B0/placeholder",
    ),
    (
        "TEAMS_WORKFLOW_URL",
        "https://example.com/workflows/placeholder",
    ),
    (
        "DISCORD_WEBHOOK_URL",
        "https://discord.com/api/webhooks/1/placeholder",
    ),
    ("TELEGRAM_BOT_TOKEN", "123:placeholder-bot-token"),
    ("WSPROBE_HTTP_TOKEN", "placeholder-http-token"),
    ("WSPROBE_HTTP_PASSWORD", "placeholder-http-password"),
];

/// A fenced ```yaml block: the document, the line of its opening fence, its text.
struct Snippet {
    doc: &'static str,
    line: usize,
    text: String,
    /// The fence's indentation (a block inside a list item), which
    /// CommonMark strips from each line of the block.
    indent: usize,
}

fn snippets(doc: &'static str) -> Vec<Snippet> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let markdown = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let mut out = Vec::new();
    let mut open: Option<Snippet> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start();
        match open.take() {
            None if fence.starts_with("```yaml") => {
                open = Some(Snippet {
                    doc,
                    line: i + 1,
                    text: String::new(),
                    indent: line.len() - fence.len(),
                })
            }
            None => {}
            Some(s) if fence.starts_with("```") => out.push(s),
            Some(mut s) => {
                let spaces = line.len() - line.trim_start_matches(' ').len();
                s.text.push_str(&line[spaces.min(s.indent)..]);
                s.text.push('\n');
                open = Some(s);
            }
        }
    }
    assert!(open.is_none(), "{doc}: a ```yaml block is never closed");
    out
}

/// Another tool's file, by the convention above.
fn is_other_tool(s: &Snippet) -> bool {
    let first = s.text.lines().next().unwrap_or_default().trim();
    first.starts_with('#')
        && (first.ends_with(".yml") || first.ends_with(".yaml"))
        && !first.ends_with("monitors.yaml")
}

/// The snippet as a whole config, by the convention above.
fn completed(s: &Snippet) -> String {
    let has_monitors = s.text.lines().any(|l| l.starts_with("monitors:"));
    if has_monitors {
        s.text.clone()
    } else {
        format!("{}{FILLER_MONITOR}", s.text)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_yaml_snippet_in_the_docs_passes_wsprobe_validate() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for doc in DOCS {
        for snippet in snippets(doc).iter().filter(|s| !is_other_tool(s)) {
            let scratch = Scratch::new();
            let config = scratch.write_config(&completed(snippet));
            let mut run = Daemon::spawn(
                [
                    OsStr::new("validate"),
                    OsStr::new("--config"),
                    config.as_os_str(),
                ],
                &scratch,
                &ENV,
            );
            let status = run.wait_exit(SOON).await;
            checked += 1;
            if !status.success() {
                failures.push(format!(
                    "{}:{}: the snippet does not validate ({status}):\n{}",
                    snippet.doc,
                    snippet.line,
                    run.stderr()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    // README.md: the daemon's config and the /probe excerpt.
    assert!(checked >= 2, "only {checked} snippets found");
}

#[test]
fn a_snippet_is_completed_only_when_it_has_no_monitors() {
    let excerpt = Snippet {
        doc: "README.md",
        line: 1,
        indent: 0,
        text: "settings: { listen: 127.0.0.1:9108 }\n".into(),
    };
    assert_eq!(
        completed(&excerpt),
        format!("settings: {{ listen: 127.0.0.1:9108 }}\n{FILLER_MONITOR}")
    );
    let whole = Snippet {
        text: "monitors:\n  - { name: a, url: \"ws://a/\" }\n".into(),
        ..excerpt
    };
    assert_eq!(completed(&whole), whole.text);
    let prometheus = Snippet {
        text: "# prometheus.yml\nscrape_configs: []\n".into(),
        ..whole
    };
    assert!(is_other_tool(&prometheus));
}
