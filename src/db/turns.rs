//! Commits taken in turn by write transactions on several connections.
//!
//! An import stores its batches on two PostgreSQL connections at once, so one batch's
//! statements run while the other waits for the database, but what is stored must stay a
//! prefix of the file: batch k+1 commits only after batch k did, and not at all once an
//! earlier batch failed. [`super::write_transaction`] waits for the turn of the work on
//! its thread (set by [`Turns::take`]) just before it commits. A thread-local carries the
//! turn for the same reason as the deadline: the work is a closure over a connection.
//!
//! Waiting for a turn while holding a transaction open is safe only when the batches
//! touch disjoint rows (an import refuses a file with a key twice, and every shared table
//! it writes is insert-only); a later batch never holds a lock an earlier one needs.

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

/// The order in which numbered units of work commit.
#[derive(Debug, Default)]
pub struct Turns {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The turn that may commit now.
    next: usize,
    /// The first turn that failed: no later one commits.
    failed: Option<usize>,
}

thread_local! {
    static CURRENT: RefCell<Option<(Arc<Turns>, usize)>> = const { RefCell::new(None) };
}

/// Clears this thread's turn when dropped.
#[derive(Debug)]
pub struct Taken(());

impl Drop for Taken {
    fn drop(&mut self) {
        CURRENT.with(|current| current.borrow_mut().take());
    }
}

impl Turns {
    /// Turns starting at 0.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Makes the write transactions of this thread commit as `turn` until the returned
    /// guard is dropped.
    pub fn take(self: &Arc<Self>, turn: usize) -> Taken {
        CURRENT.with(|current| *current.borrow_mut() = Some((Arc::clone(self), turn)));
        Taken(())
    }

    /// Ends `turn`: committed (the next turn may commit) or failed (no later turn will).
    /// Turns end in order, as each waits for the one before it to commit.
    pub fn end(&self, turn: usize, committed: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if committed && state.next == turn {
            state.next = turn + 1;
        } else if !committed {
            state.failed = Some(state.failed.map_or(turn, |failed| failed.min(turn)));
        }
        self.changed.notify_all();
    }

    /// Waits until `turn` may commit; `false` when a turn before it failed.
    fn wait(&self, turn: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.failed.is_some_and(|failed| failed < turn) {
                return false;
            }
            if state.next == turn {
                return true;
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Waits for the turn of this thread's work, if it has one; `false` when it must not
/// commit because an earlier turn failed.
pub(super) fn wait_for_mine() -> bool {
    let mine = CURRENT.with(|current| current.borrow().clone());
    mine.is_none_or(|(turns, turn)| turns.wait(turn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn later_turns_wait_for_earlier_ones_and_give_up_after_a_failure() {
        let turns = Turns::new();
        let (done, order) = mpsc::channel();
        std::thread::scope(|scope| {
            for turn in [2, 1] {
                let (turns, done) = (Arc::clone(&turns), done.clone());
                scope.spawn(move || {
                    let _mine = turns.take(turn);
                    let may = wait_for_mine();
                    done.send((turn, may)).unwrap();
                    turns.end(turn, may);
                });
            }
            std::thread::sleep(Duration::from_millis(50));
            assert!(order.try_recv().is_err(), "no turn before 0 ended");
            let _mine = turns.take(0);
            assert!(wait_for_mine());
            turns.end(0, true);
        });
        assert_eq!(order.try_iter().collect::<Vec<_>>(), [(1, true), (2, true)]);

        let turns = Turns::new();
        turns.end(0, true);
        turns.end(1, false);
        assert!(!turns.wait(2), "a turn after a failed one gives up");
        let _mine = turns.take(3);
        assert!(!wait_for_mine());
    }

    #[test]
    fn work_without_a_turn_never_waits() {
        assert!(wait_for_mine());
    }
}
