//! One connection to PostgreSQL, opened again when it is lost.
//!
//! Every query is bounded: the server cancels a statement after
//! [`STATEMENT_TIMEOUT`] (`statement_timeout`), and the client gives up on a
//! whole job after [`JOB_TIMEOUT`] even when the server says nothing at all
//! (a cut network, a frozen host). A connection that timed out or broke is
//! dropped; the next job opens a new one, but not before a backoff that
//! doubles per failed attempt up to [`RECONNECT_CAP`], so an unreachable
//! server costs each caller one quick error, not a connect timeout each.

use super::super::PostgresLocation;
use super::super::StoreError;
use super::super::error::describe;
use super::tls;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The server cancels a statement running longer than this.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a job (a few statements, or a transaction) may take, answer
/// included; a little above [`STATEMENT_TIMEOUT`] so the server's own
/// cancellation, a clearer error, usually comes first.
const JOB_TIMEOUT: Duration = Duration::from_secs(15);
/// First wait before connecting again after a failure.
const RECONNECT_FIRST: Duration = Duration::from_millis(100);
/// Longest wait between two connection attempts.
const RECONNECT_CAP: Duration = Duration::from_secs(5);

/// A connection that is opened on demand and reopened after a loss.
pub(super) struct Link {
    location: PostgresLocation,
    config: Config,
    tls: MakeRustlsConnect,
    state: Mutex<LinkState>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct LinkState {
    client: Option<Client>,
    /// Why the last attempt to connect failed, while it has not succeeded since.
    failure: Option<String>,
    /// No new attempt before this.
    retry_at: Option<Instant>,
    /// The wait after the next failure.
    backoff: Duration,
}

impl Link {
    /// A link to `location`; nothing is opened yet.
    pub fn new(location: &PostgresLocation) -> Result<Link, StoreError> {
        let (sslmode, connector) =
            tls::connector(location).map_err(|reason| StoreError::PostgresUnavailable {
                location: location.to_string(),
                reason,
            })?;
        let mut config = Config::new();
        config
            .host(&location.host)
            .port(location.port)
            .user(&location.user)
            .dbname(&location.dbname)
            .ssl_mode(sslmode)
            .connect_timeout(location.connect_timeout)
            .application_name(location.application_name.as_deref().unwrap_or("wsprobe"))
            .options(format!(
                "-c statement_timeout={}",
                STATEMENT_TIMEOUT.as_millis()
            ))
            // A peer gone silent mid-query (cable cut, host frozen) ends the
            // connection instead of leaving it open for ever.
            .keepalives_idle(Duration::from_secs(10))
            .tcp_user_timeout(JOB_TIMEOUT);
        if let Some(password) = &location.password {
            config.password(password.as_bytes());
        }
        Ok(Link {
            location: location.clone(),
            config,
            tls: connector,
            state: Mutex::default(),
        })
    }

    /// Connect now, failing with the reason (start-up: a daemon with no
    /// database must say so, not run on).
    pub async fn open(&self) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        state.retry_at = None;
        self.connected(&mut state).await.map(|_| ())
    }

    /// Run `job` on the connection (opened first if needed), bounded by
    /// [`JOB_TIMEOUT`]. A lost connection is dropped, to be opened again by a
    /// later job, and the answer is [`StoreError::PostgresUnavailable`].
    pub async fn run<T>(
        &self,
        job: impl AsyncFnOnce(&mut Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut state = self.state.lock().await;
        let client = self.connected(&mut state).await?;
        let outcome = tokio::time::timeout(JOB_TIMEOUT, job(client)).await;
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if lost(&error) => {
                state.client = None;
                Err(self.unavailable(describe(&error)))
            }
            Ok(Err(error)) if overloaded(&error) => Err(self.unavailable(describe(&error))),
            Ok(Err(source)) => Err(StoreError::Postgres {
                location: self.location.to_string(),
                source,
            }),
            Err(_) => {
                // Mid-job, the connection's state is unknown: never reuse it.
                state.client = None;
                Err(self.unavailable(format!("no answer within {} s", JOB_TIMEOUT.as_secs())))
            }
        }
    }

    fn unavailable(&self, reason: String) -> StoreError {
        StoreError::PostgresUnavailable {
            location: self.location.to_string(),
            reason,
        }
    }

    /// The open connection, opening one if the backoff allows.
    async fn connected<'s>(&self, state: &'s mut LinkState) -> Result<&'s mut Client, StoreError> {
        if state.client.as_ref().is_some_and(Client::is_closed) {
            state.client = None;
        }
        if state.client.is_none() {
            if let (Some(at), Some(failure)) = (state.retry_at, &state.failure)
                && Instant::now() < at
            {
                return Err(self.unavailable(failure.clone()));
            }
            match self.connect().await {
                Ok(client) => {
                    if state.failure.take().is_some() {
                        tracing::info!(location = %self.location, "connected to PostgreSQL again");
                    }
                    state.retry_at = None;
                    state.backoff = RECONNECT_FIRST;
                    state.client = Some(client);
                }
                Err(reason) => {
                    if state.failure.is_none() {
                        tracing::warn!(location = %self.location, error = %reason,
                            "cannot connect to PostgreSQL; retrying with backoff");
                    }
                    let wait = state.backoff.max(RECONNECT_FIRST);
                    state.retry_at = Some(Instant::now() + wait);
                    state.backoff = (wait * 2).min(RECONNECT_CAP);
                    state.failure = Some(reason.clone());
                    return Err(self.unavailable(reason));
                }
            }
        }
        match state.client.as_mut() {
            Some(client) => Ok(client),
            None => Err(self.unavailable("not connected".into())),
        }
    }

    /// Open a connection: TCP, TLS and login all within the connect timeout.
    async fn connect(&self) -> Result<Client, String> {
        let timeout = self.location.connect_timeout;
        let attempt = tokio::time::timeout(timeout, self.config.connect(self.tls.clone())).await;
        let (client, connection) = match attempt {
            Ok(Ok(pair)) => pair,
            Ok(Err(error)) => return Err(describe(&error)),
            Err(_) => {
                return Err(format!(
                    "no answer within the connect timeout ({} s)",
                    timeout.as_secs()
                ));
            }
        };
        let location = self.location.to_string();
        // The connection does the I/O; it ends when the client is dropped.
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%location, error = %describe(&error), "PostgreSQL connection ended");
            }
        });
        Ok(client)
    }
}

/// The connection is gone (closed, I/O error, the server shutting down or
/// terminating it): open another.
fn lost(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        // Not the server's answer: lost when it is the socket's error (a
        // value that did not decode is not a lost connection).
        None => std::error::Error::source(error).is_some_and(|e| e.is::<std::io::Error>()),
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                ]
                .contains(code)
        }
    }
}

/// The server is there but cannot do the work now (a cancelled slow
/// statement, a full disk, too many connections): worth retrying later,
/// like an unreachable server, rather than an error in the query.
fn overloaded(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(|code| {
        code == &SqlState::QUERY_CANCELED
            || code.code().starts_with("53")
            || code == &SqlState::T_R_SERIALIZATION_FAILURE
            || code == &SqlState::T_R_DEADLOCK_DETECTED
    })
}
