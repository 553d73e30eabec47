//! The `upgrade` phase: the request out, the response head in and the 101
//! validated (the mechanics are in [`crate::check::upgrade`]); its evidence
//! (request, response, byte counts) is kept whatever the outcome, and a valid
//! 101 becomes the [`Session`] the later phases use.

use super::{Attempt, phase_ms};
use crate::check::error::CheckError;
use crate::check::model::Phase;
use crate::check::redact::redact_url;
use crate::check::session::Session;
use crate::check::spec::CheckSpec;
use crate::check::stream::{AsyncIo, Tap};
use crate::check::upgrade::{UpgradeFailure, build_request, new_key, upgrade};
use std::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::{Role, WebSocketConfig};

/// Most bytes of frames (auto-pongs, the Close) that may wait, beyond our own
/// message, for a peer that does not read.
const MAX_QUEUED_WRITE_BYTES: usize = 64 * 1024;

/// Run the `upgrade` phase over `io`.
pub(super) async fn run<'s>(
    a: &mut Attempt<'s>,
    io: Box<dyn AsyncIo>,
) -> Result<Session<'s>, CheckError> {
    let spec = a.spec;
    let mut tap = Tap::new(io, a.budget.origin());
    let started = Instant::now();
    let key = new_key();
    let (raw_request, record) = build_request(spec, &key);
    a.report.request = Some(record);
    let limit = a.budget.step(spec.timeout);
    // The query may carry a token (?access_token=…): the timeline shows it redacted.
    a.log.event(
        Phase::Upgrade,
        format!("GET {} sent", redact_url(&spec.target.resource)),
    );
    let outcome = upgrade(
        &mut tap,
        &raw_request,
        &key,
        spec,
        limit,
        &mut a.report.response,
    )
    .await;
    a.report.timings.set(Phase::Upgrade, phase_ms(started));
    a.report.bytes_sent = tap.sent();
    a.report.bytes_received = tap.received();
    if let Some(head) = &a.report.response {
        a.log
            .event(Phase::Upgrade, format!("{} received", head.status_line()));
    }
    let upgraded = match outcome {
        Ok(u) => u,
        Err(UpgradeFailure::Failed(mut e)) => {
            if let CheckError::Tls { certificate, .. } = &mut e {
                *certificate = a.report.tls.as_ref().and_then(|t| t.certificate.clone());
            }
            return Err(e);
        }
        Err(UpgradeFailure::TimedOut(awaited, detail)) => {
            return Err(CheckError::Timeout {
                phase: Phase::Upgrade,
                awaited,
                limit_ms: limit.as_millis() as u64,
                bytes_sent: tap.sent(),
                bytes_received: tap.received(),
                detail,
            });
        }
    };
    a.report.subprotocol = upgraded.subprotocol.clone();
    let config = session_config(spec);
    tap.watch_frames(&upgraded.leftover);
    let ws =
        WebSocketStream::from_partially_read(tap, upgraded.leftover, Role::Client, Some(config))
            .await;
    Ok(Session::new(ws, spec))
}

/// Every buffer on the connection bounded. Reads: 4 KiB at a time, messages
/// and frames up to `--max-message-bytes`. Writes: frames go to the socket as
/// they are made (no write buffer), and at most [`MAX_QUEUED_WRITE_BYTES`]
/// beyond our own message may wait for a peer that does not read. Past that,
/// tungstenite keeps a single pending pong and replaces it with the newest,
/// so a ping flood from a peer that never reads costs no memory.
fn session_config(spec: &CheckSpec) -> WebSocketConfig {
    // Our largest frame (a script's send) must fit, or it could never be queued.
    let own_frame = spec.largest_send() + 14;
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(spec.max_message_bytes))
        .max_frame_size(Some(spec.max_message_bytes))
        .write_buffer_size(0)
        .max_write_buffer_size(own_frame + MAX_QUEUED_WRITE_BYTES)
}
