//! A small server-sent events reader over a byte stream: frames split on blank lines, `event`,
//! `id` and `data` fields, comments skipped. Bounded: a frame larger than the limit is an
//! error, not a growing buffer.

use futures::{Stream, StreamExt};
use std::pin::Pin;

/// One event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    /// The `event` field (`message` if absent).
    pub(crate) event: String,
    /// The `id` field, if any.
    pub(crate) id: Option<String>,
    /// The `data` lines joined with `\n`.
    pub(crate) data: String,
}

/// Why reading events stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SseError {
    /// The connection failed.
    #[error("stream broke: {0}")]
    Broken(String),
    /// A frame exceeded the limit.
    #[error("an event exceeds {0} bytes")]
    TooLarge(usize),
}

type Bytes = Pin<Box<dyn Stream<Item = Result<bytes::Bytes, reqwest::Error>> + Send>>;

/// Reads events from a response body.
pub(crate) struct Events {
    body: Bytes,
    buffer: Vec<u8>,
    frame_bytes_max: usize,
}

impl Events {
    /// Reads `response`'s body as events, each frame at most `frame_bytes_max` bytes.
    pub(crate) fn new(response: reqwest::Response, frame_bytes_max: usize) -> Self {
        Self {
            body: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
            frame_bytes_max,
        }
    }

    /// The next event, `Ok(None)` at the end of the stream.
    pub(crate) async fn next(&mut self) -> Result<Option<Event>, SseError> {
        loop {
            if let Some((end, sep)) = frame_end(&self.buffer) {
                let frame: Vec<u8> = self.buffer.drain(..end + sep).collect();
                if let Some(event) = parse(&frame[..end]) {
                    return Ok(Some(event));
                }
                continue;
            }
            if self.buffer.len() > self.frame_bytes_max {
                return Err(SseError::TooLarge(self.frame_bytes_max));
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(e)) => return Err(SseError::Broken(e.to_string())),
                None => return Ok(None),
            }
        }
    }
}

/// The end of the first frame in `buf` and the length of its separator.
fn frame_end(buf: &[u8]) -> Option<(usize, usize)> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Parses one frame; `None` for a frame without data (comments, keep-alives).
fn parse(frame: &[u8]) -> Option<Event> {
    let text = String::from_utf8_lossy(frame);
    let mut event = None;
    let mut id = None;
    let mut data: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_string()),
            "id" => id = Some(value.to_string()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    Some(Event {
        event: event.unwrap_or_else(|| "message".to_string()),
        id,
        data: data.join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_fields() {
        let buf = b": keep-alive\n\nevent: namespace_block\nid: 7\ndata: {\"a\":\ndata: 1}\n\nrest";
        let (end, sep) = frame_end(buf).unwrap();
        assert!(parse(&buf[..end]).is_none(), "a comment has no data");
        let next = &buf[end + sep..];
        let (end, _) = frame_end(next).unwrap();
        assert_eq!(
            parse(&next[..end]),
            Some(Event {
                event: "namespace_block".into(),
                id: Some("7".into()),
                data: "{\"a\":\n1}".into(),
            })
        );
        assert_eq!(frame_end(b"data: x\r\n\r\n"), Some((7, 4)));
        assert_eq!(frame_end(b"data: x\n"), None);
    }
}
