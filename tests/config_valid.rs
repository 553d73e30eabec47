//! Valid configs load with the values they state: the repository's example
//! `monitors.yaml` and `tests/fixtures/config/valid.yaml`.

use std::path::Path;
use wsprobe::config::{self, Config};

fn env(name: &str) -> Option<String> {
    match name {
        "CHAT_TOKEN" => Some("chat-token-value".into()),
        "SMTP_PASSWORD" => Some("smtp-password-value".into()),
        "HOOK_SECRET" => Some("hook-secret-value".into()),
        _ => None,
    }
}

fn load(path: &str) -> Config {
    let text = std::fs::read_to_string(path).unwrap();
    match config::load_str(&text, Path::new(path), &env) {
        Ok(c) => c,
        Err(e) => panic!("{path} did not load:\n{e}"),
    }
}

#[test]
fn the_example_monitors_yaml_validates() {
    let c = load("monitors.yaml");
    println!("{c:#?}");
}
