//! The file channel: append each rendered alert, followed by a separator line,
//! to a local file or to standard output ("-"). For demos, tests and log
//! shippers that tail a file.

use super::channel::{AlertChannel, DeliveryError};
use super::delivery_id::DeliveryId;
use super::render::{ChannelKind, Renderer};
use super::settings::FileSettings;
use crate::notification::Notification;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// Longest one write may take: a local file answers at once, a hung
/// network mount never does.
const WRITE_LIMIT: Duration = Duration::from_secs(30);

/// The line written after every alert.
pub const SEPARATOR: &str =
    "------------------------------------------------------------------------";

/// Appends alerts to a file or standard output.
pub struct FileChannel {
    name: String,
    renderer: Renderer,
    path: PathBuf,
    /// One alert is written at a time, so concurrent alerts never interleave.
    writing: Mutex<()>,
}

impl FileChannel {
    /// A channel writing to `settings.path`; the file is created on first use.
    pub fn new(name: &str, settings: &FileSettings, renderer: Renderer) -> FileChannel {
        FileChannel {
            name: name.to_string(),
            renderer,
            path: settings.path.clone(),
            writing: Mutex::new(()),
        }
    }

    async fn send(&self, n: &Notification, id: &DeliveryId) -> Result<(), DeliveryError> {
        let mut entry = self
            .renderer
            .render_delivery(ChannelKind::File, n, Some(id))?
            .text;
        if !entry.ends_with('\n') {
            entry.push('\n');
        }
        entry.push_str(SEPARATOR);
        entry.push('\n');
        let _guard = self.writing.lock().await;
        let written = if self.path == Path::new("-") {
            let mut out = tokio::io::stdout();
            match out.write_all(entry.as_bytes()).await {
                Ok(()) => out.flush().await,
                Err(e) => Err(e),
            }
        } else {
            append(&self.path, entry.as_bytes()).await
        };
        written.map_err(|e| DeliveryError::Write {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }
}

async fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    file.write_all(bytes).await?;
    file.flush().await
}

impl AlertChannel for FileChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver<'a>(
        &'a self,
        n: &'a Notification,
        id: &'a DeliveryId,
    ) -> Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>> {
        Box::pin(self.send(n, id))
    }

    fn time_limit(&self) -> Duration {
        WRITE_LIMIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sample;
    use crate::alert::settings::TemplateOverrides;
    use crate::notification::NotificationKind;

    fn channel(path: PathBuf) -> FileChannel {
        let renderer = Renderer::new(&TemplateOverrides::default()).unwrap();
        FileChannel::new("log", &FileSettings { path }, renderer)
    }

    #[tokio::test]
    async fn each_alert_is_appended_with_a_separator_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.log");
        let ch = channel(path.clone());
        ch.deliver(
            &sample::notification(NotificationKind::Down),
            &sample::delivery_id(),
        )
        .await
        .unwrap();
        ch.deliver(
            &sample::notification(NotificationKind::Recovered),
            &sample::delivery_id(),
        )
        .await
        .unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        let entries: Vec<&str> = written
            .split(&format!("{SEPARATOR}\n"))
            .filter(|e| !e.is_empty())
            .collect();
        assert_eq!(entries.len(), 2, "{written}");
        assert!(entries[0].contains("DOWN chat-gateway: early_fin in open"));
        assert!(entries[1].contains("RECOVERED chat-gateway after 5m 3s"));
        assert!(written.ends_with(&format!("{SEPARATOR}\n")));
    }

    #[tokio::test]
    async fn a_file_in_a_missing_directory_is_a_delivery_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("alerts.log");
        let err = channel(path.clone())
            .deliver(
                &sample::notification(NotificationKind::Down),
                &sample::delivery_id(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, DeliveryError::Write { .. }), "{err:?}");
        assert!(err.to_string().contains("no-such-dir"), "{err}");
    }
}
