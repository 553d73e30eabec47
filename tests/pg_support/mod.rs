//! A throwaway PostgreSQL server for one test: Debian's `postgresql`
//! binaries (`initdb`, `pg_ctl`) run as the `postgres` user in a temp dir,
//! listening on 127.0.0.1 and a free port with its unix socket in that dir,
//! password login over TCP. Stopped (`pg_ctl stop -m immediate`) and removed
//! on drop. Missing binaries fail the test, saying what to install.

use std::path::{Path, PathBuf};
use std::process::Command;
use wsprobe::state::store::postgres::PostgresStore;
use wsprobe::state::store::{PostgresLocation, StateLocation, Store};

/// The superuser's password; tests check it never shows in any error.
pub const PASSWORD: &str = "pg-test-5ecret-7d1f";

/// One running server (see the module docs).
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// `-c` options beyond the listening ones (TLS).
    options: String,
}

impl PgServer {
    /// initdb and start a server.
    pub fn start() -> PgServer {
        PgServer::start_with(|_| String::new())
    }

    /// A server that also speaks TLS with `cert_pem` / `key_pem` (it still
    /// takes unencrypted connections, as initdb's `host` lines allow).
    pub fn start_with_tls(cert_pem: &str, key_pem: &str) -> PgServer {
        PgServer::start_with(|data| {
            std::fs::write(data.join("server.crt"), cert_pem).expect("write server.crt");
            std::fs::write(data.join("server.key"), key_pem).expect("write server.key");
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(data.join("server.crt"))
                .arg(data.join("server.key")));
            // PostgreSQL refuses a key others can read.
            run(Command::new("chmod")
                .arg("600")
                .arg(data.join("server.key")));
            " -c ssl=on".to_string()
        })
    }

    /// initdb, let `prepare` add files to the data dir (its answer: more
    /// `-c` options), and start.
    fn start_with(prepare: impl FnOnce(&Path) -> String) -> PgServer {
        let bin = binaries();
        let dir = tempfile::Builder::new()
            .prefix("wsprobe-pg-")
            .tempdir()
            .expect("temp dir");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).expect("write the password file");
        run(Command::new("chown")
            .arg("-R")
            .arg("postgres:postgres")
            .arg(dir.path()));
        run(as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", "postgres", "-E", "UTF8", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display())));
        let options = prepare(&dir.path().join("data"));
        let server = PgServer {
            dir,
            bin,
            port: free_port(),
            options,
        };
        server.start_again();
        server
    }

    /// Start the (stopped) server again on the same port.
    pub fn start_again(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off{}",
            self.port,
            self.dir.path().display(),
            self.options
        );
        run(self
            .pg_ctl()
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-o", &options, "start"]));
    }

    /// Stop it the way an operator restarting it would: clients are
    /// disconnected, the server shuts down cleanly.
    pub fn stop_fast(&self) {
        run(self.pg_ctl().args(["-m", "fast", "-w", "stop"]));
    }

    /// The TCP port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's temp dir (owned by `postgres`, readable by root).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn pg_ctl(&self) -> Command {
        let mut command = as_postgres(&self.bin.join("pg_ctl"));
        command.arg("-D").arg(self.dir.path().join("data"));
        command
    }

    /// The URL of database `db`, password included.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/{db}?sslmode=disable&connect_timeout=5",
            self.port
        )
    }

    /// Where database `db` is.
    pub fn location(&self, db: &str) -> PostgresLocation {
        match StateLocation::parse(&self.url(db)) {
            Ok(StateLocation::Postgres(location)) => location,
            other => panic!("{other:?}"),
        }
    }

    /// A superuser connection to `db`, for setting up what a test needs.
    pub async fn admin(&self, db: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url(db), tokio_postgres::NoTls)
            .await
            .expect("connect as the superuser");
        tokio::spawn(connection);
        client
    }

    /// Create database `db` (each test its own).
    pub async fn create_database(&self, db: &str) {
        self.admin("postgres")
            .await
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .expect("CREATE DATABASE");
    }

    /// A store on a fresh database `db`, as instance `instance`.
    pub async fn store(&self, db: &str, instance: &str) -> Store {
        self.create_database(db).await;
        Store::connect(&StateLocation::Postgres(self.location(db)), instance)
            .await
            .expect("connect the store")
    }

    /// A second instance's store on database `db` (already created).
    pub async fn backend(&self, db: &str, instance: &str) -> PostgresStore {
        PostgresStore::connect(&self.location(db), instance)
            .await
            .expect("connect the store")
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Immediate: nothing to keep, and the temp dir goes next.
        let _ = self
            .pg_ctl()
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// `/usr/lib/postgresql/<version>/bin`, the newest there is.
fn binaries() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "no initdb/pg_ctl under {}: install Debian's postgresql package \
             (apt-get install postgresql) to run the PostgreSQL store tests",
            root.display()
        )
    })
}

fn as_postgres(program: &Path) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(program);
    command
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
