//! A minimal server-sent-events reader for tests.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct SseMessage {
    pub id: Option<String>,
    pub data: Value,
}

/// Reads events from an SSE response until it ends, or until `stop` returns true for an
/// event (which is included); the connection is then dropped.
pub async fn read(
    mut response: reqwest::Response,
    stop: impl Fn(&SseMessage) -> bool,
) -> Vec<SseMessage> {
    let mut buf = String::new();
    let mut out = Vec::new();
    let (mut id, mut data) = (None, String::new());
    while let Some(chunk) = response.chunk().await.expect("SSE chunk") {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find('\n') {
            let line: String = buf.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !data.is_empty() {
                    let msg = SseMessage {
                        id: id.take(),
                        data: serde_json::from_str(&data).expect("SSE data is JSON"),
                    };
                    data.clear();
                    let done = stop(&msg);
                    out.push(msg);
                    if done {
                        return out;
                    }
                }
            } else if let Some(v) = line.strip_prefix("id:") {
                id = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
    }
    out
}
