//! [`StateLocation`]: where the state lives, from `--state` / `settings.state`.
//! A `postgres://` or `postgresql://` URL names a PostgreSQL database (a
//! cluster shares it); anything else is the path of a SQLite file.
//!
//! A PostgreSQL URL is read the way libpq reads it: values it leaves out come
//! from the usual `PG*` environment variables, then libpq's defaults, so an
//! operator's existing setup (a `PGPASSWORD` in the unit file, a
//! `PGSSLMODE=verify-full`) works unchanged. The password is kept apart and
//! never shown: [`PostgresLocation`]'s `Display` and `Debug` leave it out,
//! and so does every error naming the URL.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// libpq's default port.
const DEFAULT_PORT: u16 = 5432;
/// libpq waits for ever by default; a monitor must not.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the state store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// A SQLite file (one daemon).
    Sqlite(PathBuf),
    /// A PostgreSQL database (shared by a cluster).
    Postgres(PostgresLocation),
}

/// How the connection is encrypted and what of the server's certificate is
/// checked; libpq's `sslmode` values and meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never encrypted.
    Disable,
    /// Encrypted when the server offers it, the certificate unchecked (libpq's default).
    #[default]
    Prefer,
    /// Always encrypted, the certificate unchecked.
    Require,
    /// Always encrypted; the chain must lead to `sslrootcert` (or a system root).
    VerifyCa,
    /// Like `VerifyCa`, and the certificate must name the host.
    VerifyFull,
}

impl SslMode {
    /// Its `sslmode` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn parse(text: &str) -> Result<SslMode, String> {
        [
            SslMode::Disable,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ]
        .into_iter()
        .find(|mode| mode.as_str() == text)
        .ok_or_else(|| {
            format!(
                "sslmode {text:?} is not one of disable, prefer, require, verify-ca, verify-full"
            )
        })
    }
}

/// What to connect to. `Display` is the URL without its password.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresLocation {
    /// Host name or address, or a directory holding the server's unix socket.
    pub host: String,
    /// TCP port (also names the unix socket).
    pub port: u16,
    /// Role to log in as.
    pub user: String,
    /// Its password, if any. Never shown.
    pub password: Option<String>,
    /// Database name.
    pub dbname: String,
    /// Encryption and certificate checks.
    pub sslmode: SslMode,
    /// PEM file of the roots that `verify-ca` / `verify-full` trust (else the system's).
    pub sslrootcert: Option<PathBuf>,
    /// Shown in `pg_stat_activity`.
    pub application_name: Option<String>,
    /// Longest wait for a connection, TLS and login included.
    pub connect_timeout: Duration,
}

impl StateLocation {
    /// A `postgres://` or `postgresql://` URL, completed from the `PG*`
    /// environment variables; anything else a SQLite path.
    pub fn parse(text: &str) -> Result<StateLocation, String> {
        StateLocation::parse_with(text, &|name| std::env::var(name).ok())
    }

    /// [`StateLocation::parse`] with `env` standing in for the environment.
    pub fn parse_with(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<StateLocation, String> {
        let is_url = ["postgres://", "postgresql://"].iter().any(|scheme| {
            text.get(..scheme.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        });
        if is_url {
            PostgresLocation::from_url(text, env)
                .map(StateLocation::Postgres)
                .map_err(|reason| format!("invalid PostgreSQL URL {}: {reason}", redact(text)))
        } else {
            Ok(StateLocation::Sqlite(PathBuf::from(text)))
        }
    }
}

/// What the URL says, before the environment and defaults fill the gaps.
#[derive(Default)]
struct Given {
    host: Option<String>,
    port: Option<String>,
    user: Option<String>,
    password: Option<String>,
    dbname: Option<String>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    application_name: Option<String>,
    connect_timeout: Option<String>,
}

impl Given {
    fn from_url(text: &str) -> Result<Given, String> {
        let url = url::Url::parse(text).map_err(|e| e.to_string())?;
        let decode = |part: &str, what: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| format!("the {what} is not UTF-8 once percent-decoded"))
        };
        let mut given = Given {
            host: url
                .host_str()
                .filter(|h| !h.is_empty())
                .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string()),
            port: url.port().map(|p| p.to_string()),
            user: Some(decode(url.username(), "user")?).filter(|u| !u.is_empty()),
            password: url.password().map(|p| decode(p, "password")).transpose()?,
            dbname: Some(decode(url.path().trim_start_matches('/'), "database name")?)
                .filter(|d| !d.is_empty()),
            ..Given::default()
        };
        if given.dbname.as_deref().is_some_and(|d| d.contains('/')) {
            return Err("the database name cannot contain '/'".into());
        }
        for (key, value) in url.query_pairs() {
            let slot = match key.as_ref() {
                "host" => &mut given.host,
                "port" => &mut given.port,
                "user" => &mut given.user,
                "password" => &mut given.password,
                "dbname" => &mut given.dbname,
                "sslmode" => &mut given.sslmode,
                "sslrootcert" => &mut given.sslrootcert,
                "application_name" => &mut given.application_name,
                "connect_timeout" => &mut given.connect_timeout,
                other => return Err(format!("unknown parameter {other:?}")),
            };
            *slot = Some(value.into_owned());
        }
        Ok(given)
    }
}

impl PostgresLocation {
    fn from_url(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let given = Given::from_url(text)?;
        let or_env = |value: Option<String>, name: &str| value.or_else(|| env(name));
        let port = match or_env(given.port, "PGPORT") {
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("port {port:?} is not a TCP port"))?,
            None => DEFAULT_PORT,
        };
        // libpq's default role is the operating system user's name.
        let user = or_env(given.user, "PGUSER")
            .or_else(|| env("USER"))
            .unwrap_or_else(|| "postgres".to_string());
        let sslmode = match or_env(given.sslmode, "PGSSLMODE") {
            Some(mode) => SslMode::parse(&mode)?,
            None => SslMode::default(),
        };
        let connect_timeout = match or_env(given.connect_timeout, "PGCONNECT_TIMEOUT") {
            Some(secs) => match secs.trim().parse::<u64>() {
                // libpq: 0 waits for ever; a monitor never does.
                Ok(0) => DEFAULT_CONNECT_TIMEOUT,
                Ok(secs) => Duration::from_secs(secs),
                Err(_) => return Err(format!("connect_timeout {secs:?} is not whole seconds")),
            },
            None => DEFAULT_CONNECT_TIMEOUT,
        };
        Ok(PostgresLocation {
            host: or_env(given.host, "PGHOST").unwrap_or_else(|| "localhost".to_string()),
            port,
            dbname: or_env(given.dbname, "PGDATABASE").unwrap_or_else(|| user.clone()),
            user,
            password: or_env(given.password, "PGPASSWORD"),
            sslmode,
            sslrootcert: or_env(given.sslrootcert, "PGSSLROOTCERT").map(PathBuf::from),
            application_name: or_env(given.application_name, "PGAPPNAME"),
            connect_timeout,
        })
    }
}

/// Userinfo and query values, percent-encoded for a URL.
fn encoded(text: &str) -> percent_encoding::PercentEncode<'_> {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
}

/// The path, or the URL without its password: what logs and errors show.
impl fmt::Display for StateLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateLocation::Sqlite(path) => write!(f, "{}", path.display()),
            StateLocation::Postgres(database) => database.fmt(f),
        }
    }
}

impl fmt::Display for PostgresLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgres://{}@", encoded(&self.user))?;
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else if self.host.starts_with('/') {
            write!(f, "{}", encoded(&self.host))?;
        } else {
            write!(f, "{}", self.host)?;
        }
        write!(f, ":{}/{}", self.port, encoded(&self.dbname))?;
        if self.sslmode != SslMode::default() {
            write!(f, "?sslmode={}", self.sslmode.as_str())?;
        }
        Ok(())
    }
}

/// By hand, so the password cannot leak through `{:?}`.
impl fmt::Debug for PostgresLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLocation")
            .field("url", &self.to_string())
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("sslrootcert", &self.sslrootcert)
            .field("application_name", &self.application_name)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// `text` with any password taken out: the one after `user:` in the
/// userinfo and a `password=` parameter. Works on URLs that do not parse,
/// since those are what error messages show.
fn redact(text: &str) -> String {
    let Some(scheme_end) = text.find("://").map(|i| i + 3) else {
        return text.to_string();
    };
    let (head, rest) = text.split_at(scheme_end);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let user = authority[..at].split(':').next().unwrap_or_default();
            format!("{user}@{}", &authority[at + 1..])
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| !pair.starts_with("password="))
                .collect();
            format!("{path}?{}", kept.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{head}{authority}{tail}")
}

#[cfg(test)]
mod tests;
