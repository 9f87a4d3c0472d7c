//! `polymall import`: a file of any size, streamed, in batches.
//!
//! The file is read twice. The first pass validates every document (shape, rules, keys
//! appearing twice) and writes nothing, so a bad document stops the import before
//! anything is stored; for JSON lines it parses and checks on every core, gathering the
//! keys in the file's order, so it names the same first bad document as a reading on one
//! thread would. The second pass stores batches of [`IMPORT_BATCH`], each in one
//! transaction, while the next batch is parsed on another thread; on PostgreSQL two
//! connections store at once and commit in the file's order, so what is stored is always
//! the file's first documents. Memory stays bounded: a few batches of documents and 16
//! bytes per key. Standard input is copied to a temporary file during the first pass, to
//! be read again.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::{mpsc, Mutex, PoisonError};

use super::{
    check_documents, convert, read_documents, Document, DocumentKind, IntakeError, ReadError,
};
use crate::db::{Database, Refresh, Turns};
use crate::shop::orders::NewOrder;
use crate::shop::products::NewProduct;
use crate::shop::refunds::NewRefund;
use crate::shop::shops::Shop;
use crate::shop::{ShopError, UpsertCounts};

/// Documents stored per transaction by an import.
pub const IMPORT_BATCH: usize = 1_000;

/// Bytes read from the file at a time.
const READ_BUFFER: usize = 1 << 20;

/// Where the documents come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportSource {
    /// A file.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

/// What an import stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Documents in the file.
    pub documents: usize,
    /// Created and replaced records.
    pub counts: UpsertCounts,
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input could not be read (or standard input not kept for the second pass).
    #[error("cannot read {what}: {source}")]
    Io {
        /// The file or standard input.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// A document is wrong; nothing was stored.
    #[error("nothing imported: {0}")]
    Refused(IntakeError),
    /// A batch failed to store. The batches before it are stored; nothing from it on.
    #[error(
        "documents [0] to [{}] are stored; nothing from [{stored}] on: {error} \
         (importing the file again replaces what is stored and adds the rest)",
        .stored.saturating_sub(1)
    )]
    Stopped {
        /// Documents stored before the failed batch.
        stored: usize,
        /// Why the batch failed.
        error: IntakeError,
    },
}

/// What an import tells as it goes, for a terminal to show.
pub trait Progress: Sync {
    /// `documents` of the input are checked so far.
    fn checked(&self, documents: usize);
    /// `stored` of the `total` documents are stored so far.
    fn stored(&self, stored: usize, total: usize);
}

/// An import that tells nothing as it goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn checked(&self, _documents: usize) {}
    fn stored(&self, _stored: usize, _total: usize) {}
}

/// Documents between two reports of the first pass.
const CHECK_REPORT_EVERY: usize = 10_000;

/// Imports every document of `source` for `shop`, telling `progress` as it goes.
pub fn import(
    db: &Database,
    shop: &Shop,
    kind: DocumentKind,
    source: &ImportSource,
    progress: &dyn Progress,
) -> Result<Imported, ImportError> {
    let imported = match kind {
        DocumentKind::Products => import_as::<NewProduct>(db, shop, source, progress),
        DocumentKind::Orders => import_as::<NewOrder>(db, shop, source, progress),
        DocumentKind::Refunds => import_as::<NewRefund>(db, shop, source, progress),
    }?;
    // Readers should not sum the changes of a million orders until the next fold, and the
    // query planner should know the tables grew.
    let mut conn = db.get().map_err(|e| ImportError::Stopped {
        stored: imported.documents,
        error: e.into(),
    })?;
    // The tables just filled are analysed (and on PostgreSQL vacuumed) by name: the
    // activity counters the periodic refresh goes by reach the statistics views only some
    // time after the writes.
    let filled = if imported.documents >= IMPORT_BATCH {
        kind.tables()
    } else {
        &[]
    };
    let tidy = crate::shop::orders::fold_order_counts(&mut conn).and_then(|_| {
        refresh_filled(db, &mut conn, filled)
            .and_then(|()| {
                crate::db::refresh_statistics(&mut conn, Refresh::StatisticsAndVisibility)
            })
            .map_err(ShopError::Db)
    });
    if let Err(error) = tidy {
        tracing::warn!(%error, "imported; folding counts or refreshing statistics failed (the server does both on its schedule)");
    }
    Ok(imported)
}

/// Refreshes the tables an import filled ([`crate::db::refresh_filled`]) on as many
/// connections as stored them ([`writers`]): on PostgreSQL two at once, every other table
/// on each (the list puts the large ones apart), as a vacuum keeps one server process busy
/// and the import waits for the last.
fn refresh_filled(
    db: &Database,
    conn: &mut crate::db::DbConnection,
    tables: &[&str],
) -> Result<(), crate::db::DbError> {
    // The second connection the batches were stored on, free again (`writers` asks for
    // one only from a pool that has it to give: `get` would wait for it).
    let other = (writers(db) > 1 && tables.len() > 1)
        .then(|| db.get().ok())
        .flatten();
    let Some(mut other) = other else {
        return crate::db::refresh_filled(conn, tables);
    };
    let mine: Vec<&str> = tables.iter().copied().step_by(2).collect();
    let theirs: Vec<&str> = tables.iter().copied().skip(1).step_by(2).collect();
    std::thread::scope(|scope| {
        let other = scope.spawn(move || crate::db::refresh_filled(&mut other, &theirs));
        let done = crate::db::refresh_filled(conn, &mine);
        let other = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        done.and(other)
    })
}

fn import_as<D: Document>(
    db: &Database,
    shop: &Shop,
    source: &ImportSource,
    progress: &dyn Progress,
) -> Result<Imported, ImportError> {
    let (documents, again): (usize, Box<dyn Read + Send>) = match source {
        ImportSource::File(path) => {
            let io = |source| ImportError::Io {
                what: path.display().to_string(),
                source,
            };
            let documents = check::<D>(shop, std::fs::File::open(path).map_err(io)?, progress)?;
            (documents, Box::new(std::fs::File::open(path).map_err(io)?))
        }
        ImportSource::Stdin => {
            let io = |source| ImportError::Io {
                what: "standard input (kept in a temporary file to be read twice)".to_owned(),
                source,
            };
            let mut spool = tempfile::tempfile().map_err(io)?;
            let documents = check::<D>(
                shop,
                Tee {
                    from: std::io::stdin(),
                    to: std::io::BufWriter::new(&spool),
                },
                progress,
            )?;
            std::io::Seek::rewind(&mut spool).map_err(io)?;
            (documents, Box::new(spool))
        }
    };
    progress.checked(documents);
    let counts = store::<D>(db, shop, again, documents, progress)?;
    Ok(Imported { documents, counts })
}

/// The first pass: every document valid, no key twice. Answers the number of documents.
fn check<D: Document>(
    shop: &Shop,
    input: impl Read,
    progress: &dyn Progress,
) -> Result<usize, ImportError> {
    let offset = shop.offset();
    let keys = RandomState::new();
    let salt = RandomState::new();
    let mut seen: HashSet<u128> = HashSet::new();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let read = check_documents(
        BufReader::with_capacity(READ_BUFFER, input),
        threads,
        |index, wire: D::Wire| {
            let item = convert::<D>(index, &wire, offset)?;
            item.check().map_err(|e| shifted(e, index))?;
            // Two independent 64-bit hashes: a false "appears twice" would need both to
            // collide, far less likely than a disk error.
            let key = item.key();
            let hash = u128::from(keys.hash_one(key)) << 64 | u128::from(salt.hash_one(key));
            Ok((hash, key.to_owned()))
        },
        |index, (hash, key)| {
            if index > 0 && index % CHECK_REPORT_EVERY == 0 {
                progress.checked(index);
            }
            if !seen.insert(hash) {
                return Err(IntakeError::Shop(ShopError::rejected(
                    format!("[{index}].{}", D::KEY_FIELD),
                    format!("`{key}` appears twice in this file"),
                )));
            }
            Ok(())
        },
    );
    read.map_err(|e| match e {
        ReadError::Malformed(e) => ImportError::Refused(IntakeError::Malformed(e)),
        ReadError::Refused(e) => ImportError::Refused(e),
        ReadError::Io(source) => ImportError::Io {
            what: "the input".to_owned(),
            source,
        },
    })
}

/// Connections storing batches at once, and refreshing the filled tables after: on
/// PostgreSQL two (when the pool has two to give), so one batch's statements run while the
/// other's wait on the database (a batch alone leaves a core idle, the server and the
/// import each waiting for the other); they still commit in the file's order ([`Turns`]).
/// SQLite has one writer at a time.
fn writers(db: &Database) -> usize {
    match db.backend() {
        crate::db::Backend::Postgres if db.pool_state().2 >= 2 => 2,
        _ => 1,
    }
}

/// Whether the statistics are checked after batch `turn` (from 0): after batches 1, 2, 4,
/// 8 … A table is analysed between batches once it doubled since PostgreSQL last counted
/// it, and one the import fills from nothing can double only at those batches; one that
/// held more doubles later, when its plans no longer change with its size. The check reads
/// the statistics of every table (4 ms), which after every batch was a few percent of the
/// server's work.
fn checks_statistics(turn: usize) -> bool {
    (turn + 1).is_power_of_two()
}

/// What the storing connections have done so far.
#[derive(Default)]
struct Storing {
    counts: UpsertCounts,
    /// Documents in the batches committed, which are the first ones of the file.
    stored: usize,
    /// The first batch that failed, with its first document and why.
    failed: Option<(usize, usize, ShopError)>,
}

/// The second pass: batches parsed on one thread, stored by [`writers`] connections,
/// committed in order.
fn store<D: Document>(
    db: &Database,
    shop: &Shop,
    input: Box<dyn Read + Send>,
    total: usize,
    progress: &dyn Progress,
) -> Result<UpsertCounts, ImportError> {
    let offset = shop.offset();
    let mut connections = Vec::new();
    for _ in 0..writers(db) {
        connections.push(db.get().map_err(|e| ImportError::Stopped {
            stored: 0,
            error: e.into(),
        })?);
    }
    let turns = Turns::new();
    let storing = Mutex::new(Storing::default());
    // A batch waits while the next is parsed and the ones before are stored.
    let (batches, received) = mpsc::sync_channel::<(usize, usize, Vec<D>)>(1);
    // Taken away by a connection whose batch failed, so the parser stops.
    let received = Mutex::new(Some(received));
    let read = std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let mut batch = Vec::with_capacity(IMPORT_BATCH);
            let (mut turn, mut first) = (0, 0);
            let read = read_documents(
                BufReader::with_capacity(READ_BUFFER, input),
                |index, wire: D::Wire| {
                    batch.push(convert::<D>(index, &wire, offset)?);
                    if batch.len() == IMPORT_BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(IMPORT_BATCH));
                        // The storing side hung up: it failed and says why.
                        batches.send((turn, first, full)).map_err(|_| None)?;
                        turn += 1;
                        first = index + 1;
                    }
                    Ok::<(), Option<IntakeError>>(())
                },
            );
            if read.is_ok() && !batch.is_empty() {
                let _ = batches.send((turn, first, batch));
            }
            read
        });
        for mut conn in connections {
            let (turns, storing, received) = (&turns, &storing, &received);
            scope.spawn(move || loop {
                let next = received
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
                    .and_then(|received| received.recv().ok());
                let Some((turn, first, batch)) = next else {
                    return;
                };
                let result = {
                    let _mine = turns.take(turn);
                    D::store(&mut conn, shop.id, &batch)
                };
                // Counted before the turn ends, so progress and totals follow the file.
                {
                    let mut storing = storing.lock().unwrap_or_else(PoisonError::into_inner);
                    match result {
                        Ok(done) => {
                            storing.counts.created += done.created;
                            storing.counts.updated += done.updated;
                            storing.stored += batch.len();
                            progress.stored(storing.stored, total);
                        }
                        Err(error) => {
                            let earlier = storing
                                .failed
                                .as_ref()
                                .is_some_and(|(failed, _, _)| *failed < turn);
                            if !earlier {
                                storing.failed = Some((turn, first, error));
                            }
                            drop(storing);
                            turns.end(turn, false);
                            // Nothing after it is stored: stop taking batches, so the
                            // parser stops too.
                            received
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .take();
                            return;
                        }
                    }
                }
                turns.end(turn, true);
                // Tables growing from nothing to a million rows: PostgreSQL makes the
                // plans of the next batches with statistics of their size. (SQLite plans
                // these statements the same at any size; it is analysed once, at the end.)
                if db.backend() == crate::db::Backend::Postgres && checks_statistics(turn) {
                    if let Err(error) =
                        crate::db::refresh_statistics(&mut conn, Refresh::Statistics)
                    {
                        tracing::warn!(%error, "statistics not refreshed; the import goes on");
                    }
                }
            });
        }
        parser.join()
    });
    let storing = storing.into_inner().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, first, error)) = storing.failed {
        return Err(ImportError::Stopped {
            stored: storing.stored,
            error: IntakeError::Shop(shifted(error, first)),
        });
    }
    let stored = storing.stored;
    match read {
        Ok(Ok(_)) => Ok(storing.counts),
        // The first pass read the same input without fault: it changed meanwhile.
        Ok(Err(error)) => Err(ImportError::Stopped {
            stored,
            error: match error {
                ReadError::Malformed(e) => IntakeError::Malformed(e),
                ReadError::Refused(Some(e)) => e,
                ReadError::Refused(None) | ReadError::Io(_) => {
                    IntakeError::Malformed(crate::polyapi::wire::FieldError::new(
                        "",
                        "the input changed while it was imported",
                    ))
                }
            },
        }),
        Err(_) => Err(ImportError::Stopped {
            stored,
            error: IntakeError::Malformed(crate::polyapi::wire::FieldError::new(
                "",
                "the reader of the input stopped unexpectedly",
            )),
        }),
    }
}

/// A refusal about `[i]` of a batch, said about `[i + offset]` of the file.
fn shifted(error: ShopError, offset: usize) -> ShopError {
    match error {
        ShopError::Rejected { field, message } => {
            let shifted = field
                .strip_prefix('[')
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(index, rest)| {
                    let index: usize = index.parse().ok()?;
                    Some(format!("[{}]{rest}", index + offset))
                });
            ShopError::Rejected {
                field: shifted.unwrap_or(field),
                message,
            }
        }
        other => other,
    }
}

/// Reads from one side and keeps a copy of what it read on the other.
struct Tee<R, W> {
    from: R,
    to: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.from.read(buf)?;
        self.to.write_all(&buf[..read])?;
        if read == 0 {
            self.to.flush()?;
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_are_checked_when_the_stored_batches_doubled() {
        let checked: Vec<usize> = (0..600).filter(|turn| checks_statistics(*turn)).collect();
        assert_eq!(checked, [0, 1, 3, 7, 15, 31, 63, 127, 255, 511]);
    }

    #[test]
    fn refusals_name_the_document_in_the_file() {
        let error = shifted(ShopError::rejected("[3].goodinfos", "no"), 2_000);
        assert!(
            matches!(&error, ShopError::Rejected { field, .. } if field == "[2003].goodinfos"),
            "{error:?}"
        );
    }
}
