//! `StateLocation::parse`: URLs, the PG* variables, defaults, and no password shown.

use super::*;
use std::collections::HashMap;

fn parse(text: &str, env: &[(&str, &str)]) -> Result<StateLocation, String> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    StateLocation::parse_with(text, &|name| env.get(name).cloned())
}

fn postgres(text: &str, env: &[(&str, &str)]) -> PostgresLocation {
    match parse(text, env) {
        Ok(StateLocation::Postgres(location)) => location,
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn anything_but_a_postgres_url_is_a_sqlite_path() {
    for path in [
        "state.db",
        "/var/lib/wsprobe/state.db",
        "postgres.db",
        "./postgres:/x",
    ] {
        assert_eq!(parse(path, &[]), Ok(StateLocation::Sqlite(path.into())));
    }
}

#[test]
fn a_full_url_is_read_whole() {
    let loc = postgres(
        "postgresql://probe:s%40cret@db.example:6543/monitoring?sslmode=verify-full\
         &sslrootcert=/etc/ca.pem&application_name=wsprobe-a&connect_timeout=3",
        &[],
    );
    assert_eq!(loc.host, "db.example");
    assert_eq!(loc.port, 6543);
    assert_eq!(loc.user, "probe");
    assert_eq!(loc.password.as_deref(), Some("s@cret"));
    assert_eq!(loc.dbname, "monitoring");
    assert_eq!(loc.sslmode, SslMode::VerifyFull);
    assert_eq!(loc.sslrootcert, Some(PathBuf::from("/etc/ca.pem")));
    assert_eq!(loc.application_name.as_deref(), Some("wsprobe-a"));
    assert_eq!(loc.connect_timeout, Duration::from_secs(3));
}

#[test]
fn what_the_url_leaves_out_comes_from_the_pg_variables() {
    let env = [
        ("PGHOST", "pg.internal"),
        ("PGPORT", "5433"),
        ("PGUSER", "ops"),
        ("PGPASSWORD", "hunter2"),
        ("PGDATABASE", "probes"),
        ("PGSSLMODE", "require"),
        ("PGSSLROOTCERT", "/ca.pem"),
        ("PGCONNECT_TIMEOUT", "4"),
        ("PGAPPNAME", "wsprobe-b"),
    ];
    let loc = postgres("postgres://", &env);
    assert_eq!(
        (
            loc.host.as_str(),
            loc.port,
            loc.user.as_str(),
            loc.dbname.as_str()
        ),
        ("pg.internal", 5433, "ops", "probes")
    );
    assert_eq!(loc.password.as_deref(), Some("hunter2"));
    assert_eq!(loc.sslmode, SslMode::Require);
    assert_eq!(loc.sslrootcert, Some(PathBuf::from("/ca.pem")));
    assert_eq!(loc.connect_timeout, Duration::from_secs(4));
    assert_eq!(loc.application_name.as_deref(), Some("wsprobe-b"));
    // The URL wins over the environment.
    let loc = postgres("postgres://me@here:1/db?sslmode=disable", &env);
    assert_eq!(
        (loc.user.as_str(), loc.host.as_str(), loc.port),
        ("me", "here", 1)
    );
    assert_eq!((loc.dbname.as_str(), loc.sslmode), ("db", SslMode::Disable));
}

#[test]
fn libpq_defaults_fill_the_rest() {
    let loc = postgres("postgres:///", &[("USER", "alice")]);
    assert_eq!((loc.host.as_str(), loc.port), ("localhost", 5432));
    assert_eq!((loc.user.as_str(), loc.dbname.as_str()), ("alice", "alice"));
    assert_eq!((loc.sslmode, loc.password), (SslMode::Prefer, None));
    assert_eq!(loc.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    let forever = postgres("postgres://h/d?connect_timeout=0", &[]);
    assert_eq!(
        forever.connect_timeout, DEFAULT_CONNECT_TIMEOUT,
        "never wait for ever"
    );
}

#[test]
fn an_ipv6_host_and_encoded_names_are_decoded() {
    let loc = postgres("postgres://us%20er@[::1]:5432/my%2Ddb", &[]);
    assert_eq!((loc.host.as_str(), loc.user.as_str()), ("::1", "us er"));
    assert_eq!(loc.dbname, "my-db");
    assert_eq!(loc.to_string(), "postgres://us%20er@[::1]:5432/my%2Ddb");
}

#[test]
fn display_and_debug_never_show_the_password() {
    let loc = postgres("postgres://probe:topsecret@db:5432/m?sslmode=require", &[]);
    assert_eq!(
        loc.to_string(),
        "postgres://probe@db:5432/m?sslmode=require"
    );
    let debug = format!("{loc:?} {:?}", StateLocation::Postgres(loc.clone()));
    assert!(!debug.contains("topsecret"), "{debug}");
    assert!(debug.contains("<hidden>"), "{debug}");
}

#[test]
fn a_malformed_url_names_itself_without_the_password_and_says_what_is_wrong() {
    let cases = [
        ("postgres://u:pw1@db:99999/m", "invalid port number"),
        (
            "postgres://u:pw1@db/m?sslmode=always",
            "sslmode \"always\" is not one of",
        ),
        (
            "postgres://u:pw1@db/m?colour=red",
            "unknown parameter \"colour\"",
        ),
        (
            "postgres://u:pw1@db/m?connect_timeout=soon",
            "connect_timeout \"soon\"",
        ),
        (
            "postgres://u@db/m?password=pw1&port=x",
            "port \"x\" is not a TCP port",
        ),
        ("postgres://u:pw1@db/a/b", "cannot contain '/'"),
    ];
    for (url, reason) in cases {
        let error = parse(url, &[]).expect_err(url);
        assert!(
            error.starts_with("invalid PostgreSQL URL postgres://u@db"),
            "{error}"
        );
        assert!(error.contains(reason), "{url}: {error}");
        assert!(!error.contains("pw1"), "{error}");
    }
    let from_env = parse("postgres://db/m", &[("PGPORT", "none")]).expect_err("PGPORT");
    assert!(from_env.contains("port \"none\""), "{from_env}");
}
