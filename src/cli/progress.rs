//! An import's progress on a terminal: one line, rewritten as the import goes, on
//! standard error (standard output keeps the summary for scripts).

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::intake::Progress;

/// Least time between two rewrites of the line.
const EVERY: Duration = Duration::from_millis(200);

/// Shows progress on standard error, which is a terminal.
pub struct OnTerminal {
    started: Instant,
    last: Mutex<Option<Instant>>,
}

impl OnTerminal {
    /// Progress of an import started at `started`.
    pub fn new(started: Instant) -> Self {
        Self {
            started,
            last: Mutex::new(None),
        }
    }

    /// Ends the line, so what follows starts on its own.
    pub fn finish(&self) {
        let shown = self.last.lock().map(|last| last.is_some()).unwrap_or(false);
        if shown {
            eprintln!();
        }
    }

    /// Rewrites the line, unless it was rewritten a moment ago (`force` for the last).
    fn show(&self, text: &str, force: bool) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let now = Instant::now();
        if !force && last.is_some_and(|at| now.duration_since(at) < EVERY) {
            return;
        }
        *last = Some(now);
        let mut err = std::io::stderr().lock();
        // \r back to the start of the line, \x1b[K to clear what a longer line left.
        let _ = write!(err, "\r{text}\x1b[K");
        let _ = err.flush();
    }

    fn rate(&self, documents: usize) -> f64 {
        documents as f64 / self.started.elapsed().as_secs_f64().max(0.001)
    }
}

impl Progress for OnTerminal {
    fn checked(&self, documents: usize) {
        self.show(
            &format!(
                "checking: {documents} documents ({:.0} a second)",
                self.rate(documents)
            ),
            false,
        );
    }

    fn stored(&self, stored: usize, total: usize) {
        let percent = if total == 0 {
            100.0
        } else {
            stored as f64 * 100.0 / total as f64
        };
        self.show(
            &format!("storing: {stored} of {total} documents ({percent:.0} %)"),
            stored == total,
        );
    }
}
