//! The evidence of a failure as labelled rows for the status page, from the
//! typed [`CheckError`] of the stored report document.

use crate::check::CheckError;
use serde_json::Value;

/// Longest evidence value shown; the API has the rest.
pub(super) const EVIDENCE_CHARS: usize = 600;

/// The evidence of a failure as labelled rows.
pub(super) fn evidence_rows(err: &CheckError) -> Vec<(String, String)> {
    if let CheckError::Missing101 { response } = err {
        // A response head reads as curl shows it: the status line first.
        let mut rows = vec![("response".to_string(), response.status_line())];
        if !response.headers.is_empty() {
            rows.push(("response headers".into(), headers_text(&response.headers)));
        }
        if let Some(body) = &response.body_snippet {
            rows.push((
                "response body snippet".into(),
                cut(body.replace("\r\n", "\n")),
            ));
        }
        return rows;
    }
    // Every other failure shows each field it carries, labelled by its
    // serialized name, so a field added to `CheckError` appears here too.
    let Ok(Value::Object(fields)) = serde_json::to_value(err) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for (k, v) in fields {
        // The class and phase head the failure already.
        if matches!(k.as_str(), "class" | "phase") || v.is_null() {
            continue;
        }
        match v {
            // One level of nesting (a close frame, a certificate) reads
            // better as its own rows than as JSON.
            Value::Object(inner) => rows.extend(
                inner
                    .iter()
                    .filter(|(_, v2)| !v2.is_null())
                    .map(|(k2, v2)| (nested_label(&k, k2), shown(k2, v2))),
            ),
            _ => rows.push((label(&k), shown(&k, &v))),
        }
    }
    rows
}

fn headers_text(headers: &[(String, String)]) -> String {
    let lines: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    cut(lines.join("\n"))
}

/// The page's label for an evidence field: what a person reads rather than
/// the field's serialized name ("peer_end"); a field without its own label
/// reads as its words, `_ms` dropped since the value carries its unit.
fn label(key: &str) -> String {
    let human = match key {
        "peer_end" => "server ended with",
        "ms_after_101" => "after the 101",
        "idle_ms" => "idle before the cut",
        "while_held" => "while held",
        "limit_ms" => "waited",
        "within_ms" => "within",
        "awaited" => "waiting for",
        "close_frame" => "Close frame",
        "limit_bytes" => "limit (bytes)",
        "errno" => "error",
        "hop" => "failed at",
        _ => return words(key.strip_suffix("_ms").unwrap_or(key)),
    };
    human.to_string()
}

/// "Close frame code", "waiting for" (an object's `kind` is what it is).
fn nested_label(outer: &str, inner: &str) -> String {
    match inner {
        "kind" => label(outer),
        _ => format!("{} {}", label(outer), label(inner)),
    }
}

fn words(key: &str) -> String {
    key.replace('_', " ")
}

/// A value as the page shows it: durations with their unit, how the peer
/// ended its side in words, the rest as [`value_text`].
fn shown(key: &str, v: &Value) -> String {
    match (key, v) {
        (k, Value::Number(n)) if k.ends_with("_ms") || k.starts_with("ms_") => n
            .as_f64()
            .map_or_else(|| n.to_string(), super::format::ms_text),
        ("peer_end", Value::String(end)) => match end.as_str() {
            "fin" => "FIN: it closed TCP".to_string(),
            "rst" => "RST: it reset the connection".to_string(),
            other => other.to_string(),
        },
        _ => value_text(v),
    }
}

/// An evidence value as text: headers as `Name: value` lines, long values cut.
fn value_text(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.replace("\r\n", "\n"),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::Array(items)
            if items
                .iter()
                .all(|i| i.as_array().is_some_and(|p| p.len() == 2)) =>
        {
            items
                .iter()
                .filter_map(|pair| {
                    let pair = pair.as_array()?;
                    Some(format!("{}: {}", pair[0].as_str()?, pair[1].as_str()?))
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        other => other.to_string(),
    };
    cut(text)
}

/// At most [`EVIDENCE_CHARS`] characters, with "…" when cut.
fn cut(text: String) -> String {
    match text.char_indices().nth(EVIDENCE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Phase;
    use crate::check::model::{CloseFrameInfo, PeerEnd, ResponseHead};

    fn rows(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn each_kind_of_evidence_reads_as_labelled_rows() {
        let refused = CheckError::Missing101 {
            response: ResponseHead {
                version: "HTTP/1.1".into(),
                status: 503,
                reason: "Service Unavailable".into(),
                headers: vec![
                    ("Server".into(), "nginx".into()),
                    ("Retry-After".into(), "5".into()),
                ],
                body_snippet: Some("down\r\nfor now".into()),
            },
        };
        let closed = CheckError::EarlyFin {
            phase: Phase::Open,
            peer_end: Some(PeerEnd::Fin),
            close_frame: Some(CloseFrameInfo::new(Some(1001), "bye".into())),
            ms_after_101: Some(0.5),
            idle_ms: None,
            while_held: false,
        };
        let cases = [
            (
                refused,
                rows(&[
                    ("response", "HTTP/1.1 503 Service Unavailable"),
                    ("response headers", "Server: nginx\nRetry-After: 5"),
                    ("response body snippet", "down\nfor now"),
                ]),
            ),
            (
                closed,
                rows(&[
                    ("Close frame category", "going_away"),
                    ("Close frame code", "1001"),
                    ("Close frame name", "Going Away"),
                    ("Close frame reason", "bye"),
                    ("after the 101", "0.50 ms"),
                    ("server ended with", "FIN: it closed TCP"),
                    ("while held", "no"),
                ]),
            ),
        ];
        for (err, want) in cases {
            assert_eq!(evidence_rows(&err), want, "{err:?}");
        }
    }

    #[test]
    fn no_evidence_label_is_a_raw_field_name() {
        use crate::check::failure::Awaited;
        let timeout = CheckError::Timeout {
            phase: Phase::Upgrade,
            awaited: Awaited::ResponseHead,
            limit_ms: 3000,
            bytes_sent: 181,
            bytes_received: 0,
            detail: None,
        };
        let shown = evidence_rows(&timeout);
        assert!(
            shown.iter().all(|(label, _)| !label.contains('_')),
            "{shown:?}"
        );
        assert!(
            shown.contains(&("waited".to_string(), "3.00 s".to_string())),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|(label, _)| label == "waiting for"),
            "{shown:?}"
        );
    }

    #[test]
    fn a_long_value_is_cut_with_an_ellipsis() {
        let long = "x".repeat(EVIDENCE_CHARS + 10);
        let shown = cut(long);
        assert_eq!(shown.chars().count(), EVIDENCE_CHARS + 1);
        assert!(shown.ends_with('…'));
    }
}
