//! Log output: human text or JSON lines, filtered by `RUST_LOG` (default `info`).
//!
//! Logged values come from outside (a method name, a tracking number, an error a
//! partner sent), so a value with a line break could forge a log line. Every event is
//! written as exactly one line: control characters inside it are escaped on the way out.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. Request spans are logged when they close, which
/// gives one line per request with its status and duration.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(OneLinePerEvent);
    // A second init (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Standard error, one line per event.
#[derive(Debug, Clone, Copy, Default)]
pub struct OneLinePerEvent;

impl<'a> MakeWriter<'a> for OneLinePerEvent {
    type Writer = EventWriter<std::io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter(std::io::stderr())
    }
}

/// Writes each formatted event (one `write` call, as the formatter makes it) with its
/// control characters escaped, so only its final line break ends a line.
#[derive(Debug)]
pub struct EventWriter<W>(pub W);

impl<W: Write> Write for EventWriter<W> {
    fn write(&mut self, event: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(&one_line(event))?;
        Ok(event.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The event with every control character but its final line break, tabs and the
/// escape character escaped. ESC starts the formatter's own colours on a terminal; in
/// values the formatter escapes it itself.
fn one_line(event: &[u8]) -> Cow<'_, [u8]> {
    let (body, end) = match event.strip_suffix(b"\n") {
        Some(body) => (body, &b"\n"[..]),
        None => (event, &b""[..]),
    };
    let escaped = |byte: u8| byte.is_ascii_control() && !matches!(byte, b'\t' | 0x1b);
    if !body.iter().copied().any(escaped) {
        return Cow::Borrowed(event);
    }
    let mut out = Vec::with_capacity(event.len() + 16);
    for &byte in body {
        match byte {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            byte if escaped(byte) => out.extend_from_slice(format!("\\x{byte:02x}").as_bytes()),
            byte => out.push(byte),
        }
    }
    out.extend_from_slice(end);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stays_one_line() {
        assert_eq!(&*one_line(b"plain event\n"), b"plain event\n");
        assert_eq!(
            &*one_line(b"method=GetOrder\nINFO forged\r\x00 end\n"),
            b"method=GetOrder\\nINFO forged\\r\\x00 end\n"
        );
        assert_eq!(
            &*one_line("税\t\x1b[1m\n".as_bytes()),
            "税\t\x1b[1m\n".as_bytes()
        );
    }

    #[test]
    fn a_logged_value_cannot_split_the_line() {
        use tracing_subscriber::fmt::MakeWriter;

        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl<'a> MakeWriter<'a> for Buffer {
            type Writer = EventWriter<BufferWriter>;
            fn make_writer(&'a self) -> Self::Writer {
                EventWriter(BufferWriter(self.0.clone()))
            }
        }
        struct BufferWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for BufferWriter {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(buffer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let method = "GetOrder\n2026-01-01T00:00:00Z  INFO polymall: admin logged in";
            tracing::info!(method = %method, "polyapi call");
            tracing::warn!("second event");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("GetOrder\\n2026"), "{text}");
    }
}
