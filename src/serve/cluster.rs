//! `GET /api/cluster`: every live and recently lost instance sharing this
//! daemon's state store — name, location, version, start, last heartbeat and
//! the monitors it owns — as this instance sees them. On a store of its own
//! (SQLite) the cluster is this instance alone, owning every monitor.

use super::Surface;
use crate::cluster::{identity, names_in, rendezvous};
use crate::state::store::Member;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// `GET /api/cluster`.
pub async fn show(State(s): State<Surface>) -> Response {
    let cluster = &s.shared.cluster;
    let config = s.shared.config();
    let view = cluster.view();
    // Each location's monitors are shared among that location's instances.
    let owned = |member: &Member| -> Vec<&str> {
        let location = identity::location_of(member);
        let peers = names_in(&view.live, location);
        config
            .monitors
            .iter()
            .filter(|m| match &view.owned {
                // One instance alone owns everything.
                None => true,
                Some(_) => {
                    m.checked_from(location)
                        && rendezvous::owner(&m.name, &peers) == Some(member.name.as_str())
                }
            })
            .map(|m| m.name.as_str())
            .collect()
    };
    let mut instances: Vec<Value> = view
        .live
        .iter()
        .map(|m| instance_json(m, true, owned(m)))
        .collect();
    instances.extend(
        view.lost
            .iter()
            .map(|m| instance_json(m, false, Vec::new())),
    );
    Json(json!({
        "instance": cluster.me.name,
        "location": identity::location_of(&cluster.me),
        "shared_store": s.shared.store.shared(),
        "heartbeat_seconds": cluster.settings.heartbeat.as_secs_f64(),
        "lease_seconds": cluster.settings.lease.as_secs_f64(),
        "fenced": view.fenced,
        "instances": instances,
    }))
    .into_response()
}

fn instance_json(m: &Member, live: bool, owned: Vec<&str>) -> Value {
    json!({
        "name": m.name,
        // Instances from before locations existed wrote none: `default`.
        "location": identity::location_of(m),
        "version": m.version,
        "started": m.started_at.to_rfc3339(),
        "last_heartbeat": m.heartbeat_at.to_rfc3339(),
        "live": live,
        "owned_count": owned.len(),
        "owned_monitors": owned,
    })
}
