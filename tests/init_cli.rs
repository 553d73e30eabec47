//! `wsprobe init` (issue 14): the starter monitors.yaml it writes passes
//! `wsprobe validate` as is, with no environment variable to set, carries
//! comments, a file channel and the URL given, and an existing file is never
//! overwritten.

use std::path::Path;
use std::process::{Command, Output};

fn wsprobe(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsprobe"))
        .current_dir(dir)
        .args(args)
        .env_clear()
        .output()
        .expect("run wsprobe")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_starter_file_validates_as_is_and_monitors_the_url_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = "wss://feed.example.com/ws?room=1";
    let init = wsprobe(dir.path(), &["init", "--url", url]);
    assert_eq!(init.status.code(), Some(0), "{}", text(&init.stderr));
    assert!(
        text(&init.stdout).contains("wsprobe validate"),
        "next steps"
    );

    let written = std::fs::read_to_string(dir.path().join("monitors.yaml")).expect("written");
    assert!(written.contains(&format!("url: \"{url}\"")), "{written}");
    assert!(written.contains("type: file"), "{written}");
    assert!(
        written.lines().filter(|l| l.contains('#')).count() > 10,
        "commented"
    );
    // Env-free: a `${VAR}` only inside comments, so nothing must be set first.
    for line in written.lines().filter(|l| l.contains("${")) {
        assert!(line.trim_start().starts_with('#'), "{line}");
    }
    // An empty environment: validate needs nothing from it.
    let validate = wsprobe(dir.path(), &["validate"]);
    assert_eq!(
        validate.status.code(),
        Some(0),
        "{}{}",
        text(&validate.stdout),
        text(&validate.stderr)
    );
    assert!(text(&validate.stdout).contains("1 monitor, 1 channel"));
}

#[test]
fn init_never_overwrites_and_refuses_a_url_it_cannot_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mine = dir.path().join("mine.yaml");
    std::fs::write(&mine, "precious: true\n").expect("write");
    let again = wsprobe(dir.path(), &["init", "--config", "mine.yaml"]);
    assert_eq!(again.status.code(), Some(3));
    assert!(
        text(&again.stderr).contains("exists; not overwritten"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&mine).expect("read"),
        "precious: true\n"
    );

    let bad = wsprobe(
        dir.path(),
        &["init", "--url", "example.com/ws", "-c", "new.yaml"],
    );
    assert_eq!(bad.status.code(), Some(3));
    assert!(text(&bad.stderr).contains("did you mean ws://example.com/ws?"));
    assert!(
        !dir.path().join("new.yaml").exists(),
        "nothing written for a bad URL"
    );

    // Without --url the placeholder still validates.
    let plain = wsprobe(dir.path(), &["init", "-c", "plain.yaml"]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    let validate = wsprobe(dir.path(), &["validate", "-c", "plain.yaml"]);
    assert_eq!(
        validate.status.code(),
        Some(0),
        "{}",
        text(&validate.stderr)
    );
}
