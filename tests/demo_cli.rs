//! `wsprobe demo` end to end (issue 14): it says up front what it starts and
//! where the status page is (a free port on 127.0.0.1), shows one endpoint
//! going DOWN and RECOVERED, ends with next steps, and leaves no temporary
//! files behind.

use std::process::Command;

#[test]
fn the_demo_announces_its_page_shows_a_recovery_ends_with_next_steps_and_cleans_up() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_wsprobe"))
        .args(["demo", "--for", "26s"])
        .env("TMPDIR", tmp.path())
        .env("RUST_LOG", "warn")
        .env_remove("NO_COLOR")
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");

    let first: Vec<&str> = stdout.lines().take(10).collect();
    assert!(
        first[0].starts_with("wsprobe demo: starting 6 local endpoints"),
        "{stdout}"
    );
    let page = first
        .iter()
        .find_map(|l| l.strip_prefix("Status page: http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("the page's URL up front:\n{stdout}"));
    let port: u16 = page
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a port in {page:?}"));
    assert_ne!(port, 0);

    let down = stdout
        .find("DOWN restarting")
        .unwrap_or_else(|| panic!("{stdout}"));
    let recovered = stdout
        .find("RECOVERED restarting")
        .unwrap_or_else(|| panic!("the recovery:\n{stdout}"));
    assert!(down < recovered, "{stdout}");
    let next = stdout
        .find("Next steps:")
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        recovered < next && stdout[next..].contains("wsprobe init"),
        "{stdout}"
    );

    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("read the temp dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}
