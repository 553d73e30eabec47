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
                    .map(|(k2, v2)| (format!("{} {}", words(&k), words(k2)), value_text(v2))),
            ),
            _ => rows.push((words(&k), value_text(&v))),
        }
    }
    rows
}

fn headers_text(headers: &[(String, String)]) -> String {
    let lines: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    cut(lines.join("\n"))
}

fn words(key: &str) -> String {
    key.replace('_', " ")
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
                    ("close frame category", "going_away"),
                    ("close frame code", "1001"),
                    ("close frame name", "Going Away"),
                    ("close frame reason", "bye"),
                    ("ms after 101", "0.5"),
                    ("peer end", "fin"),
                    ("while held", "no"),
                ]),
            ),
        ];
        for (err, want) in cases {
            assert_eq!(evidence_rows(&err), want, "{err:?}");
        }
    }

    #[test]
    fn a_long_value_is_cut_with_an_ellipsis() {
        let long = "x".repeat(EVIDENCE_CHARS + 10);
        let shown = cut(long);
        assert_eq!(shown.chars().count(), EVIDENCE_CHARS + 1);
        assert!(shown.ends_with('…'));
    }
}
