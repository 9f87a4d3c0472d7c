//! The deadline of the work running on this thread.
//!
//! A Polyapi call must either commit and answer success or answer an error with nothing
//! written, so its deadline is enforced inside the database work rather than by
//! abandoning it: [`super::Database::run`] records the deadline here for the blocking
//! thread that runs the work, and [`super::write_transaction`] bounds every wait by it
//! (the writer queue, SQLite's `busy_timeout`, PostgreSQL's `statement_timeout`) and
//! rolls back instead of committing once it has passed. A thread-local carries it
//! because the work is a closure over a connection, with no other way in.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Restores the previous deadline when dropped.
pub(super) struct Scope(Option<Instant>);

impl Drop for Scope {
    fn drop(&mut self) {
        DEADLINE.with(|cell| cell.set(self.0));
    }
}

/// Sets the deadline of this thread's work until the returned scope is dropped.
pub(super) fn enter(deadline: Option<Instant>) -> Scope {
    Scope(DEADLINE.with(|cell| cell.replace(deadline)))
}

/// The deadline of this thread's work, if it has one.
pub(super) fn current() -> Option<Instant> {
    DEADLINE.with(Cell::get)
}

/// Whether this thread's work has a deadline and it has passed.
pub(super) fn passed() -> bool {
    current().is_some_and(|deadline| Instant::now() >= deadline)
}

/// Time left until `deadline`, at least a millisecond (a zero timeout means "none" to
/// both databases).
pub(super) fn remaining(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// Time left until `deadline` in whole milliseconds, rounded up, for a database
/// timeout: a wait it cuts short then ends at or after the deadline, never before it.
pub(super) fn remaining_millis(deadline: Instant) -> u128 {
    remaining(deadline).as_micros().div_ceil(1000) + 1
}
