//! `early_fin`: the server ended the connection before the check finished;
//! by its Close code when it sent one ([`super::close_code`]), else by when
//! and how it closed.

use crate::check::model::{CloseFrameInfo, PeerEnd, Phase};
use crate::product::Product;

/// Below this, a close after the 101 counts as "at once".
const AT_ONCE_MS: f64 = 1000.0;

/// How the server ended the connection, as the hint needs it.
pub(super) struct EarlyEnd {
    pub phase: Phase,
    pub peer_end: Option<PeerEnd>,
    pub ms_after_101: Option<f64>,
    pub idle_ms: Option<f64>,
    pub while_held: bool,
    /// The product the 101 named, whose idle timeout likely cut a held connection.
    pub front: Option<Product>,
}

/// The hint for an early end: the Close code explains it when there is one.
pub(super) fn hint(close_frame: Option<&CloseFrameInfo>, end: EarlyEnd) -> String {
    match close_frame {
        Some(frame) => super::close_code::hint(frame.code),
        None => early_fin_hint(end),
    }
}

fn early_fin_hint(end: EarlyEnd) -> String {
    let Some(after) = end.ms_after_101 else {
        return "The server closed the connection without answering the upgrade: a proxy or server dropping the request, a TLS/plain port mismatch, or a crash while handling it.".into();
    };
    if end.phase == Phase::Close {
        return "The server dropped TCP instead of answering our Close frame: its close handling is broken (its logs will show 1006, abnormal closure).".into();
    }
    if end.while_held {
        let idle_s = end.idle_ms.unwrap_or(after) / 1000.0;
        return format!(
            "The connection was cut after {idle_s:.1} s without traffic: {}, or the server's heartbeat setting. Send pings more often than every {idle_s:.0} s (--ping-every; ping_every in monitors.yaml), or raise that idle timeout.",
            idle_cut_cause(end.front)
        );
    }
    if after < AT_ONCE_MS {
        if end.peer_end == Some(PeerEnd::Rst) {
            return "The server reset the connection right after the 101: a handler that crashes, or a proxy that kills upgraded connections.".into();
        }
        return "The server closed the connection right after the 101. Classic cause: a proxy speaking HTTP/1.0 to the backend (nginx needs proxy_http_version 1.1 plus the Upgrade and Connection headers), or a server that closes non-keep-alive requests; browsers show \"connected\" and then reconnect in a loop.".into();
    }
    format!(
        "The server closed the connection {:.1} s after the 101, before the check finished: a crash, a restart, or a timeout on the server or a proxy.",
        after / 1000.0
    )
}

/// The idle timeout that likely cut a held connection: the one of the product
/// in front, else those of the usual suspects.
fn idle_cut_cause(front: Option<Product>) -> String {
    if let Some(product) = front
        && let Some(cut) = product.idle_cut()
    {
        return format!("the idle timeout of {} in front: {cut}", product.name());
    }
    let usual: Vec<String> = [
        Product::Nginx,
        Product::Haproxy,
        Product::AwsElb,
        Product::Cloudflare,
    ]
    .into_iter()
    .filter_map(|p| p.idle_cut().map(|cut| format!("{}: {cut}", p.name())))
    .collect();
    format!(
        "an idle timeout on a proxy or load balancer ({})",
        usual.join("; ")
    )
}
