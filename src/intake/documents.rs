//! Reading documents one at a time from a JSON array or JSON lines, so a file of a
//! million orders is never held whole. Errors name the document's index and the path of
//! the offending field (and, for JSON lines, the line).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::marker::PhantomData;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use serde::de::{DeserializeOwned, DeserializeSeed, SeqAccess, Visitor};

use crate::polyapi::wire::FieldError;

/// Why reading stopped.
#[derive(Debug)]
pub enum ReadError<E> {
    /// The input is not JSON documents of the expected shape.
    Malformed(FieldError),
    /// The input could not be read.
    Io(std::io::Error),
    /// `each` refused a document.
    Refused(E),
}

/// Calls `each(index, document)` for every document of a JSON array or of JSON lines
/// (one document per non-empty line) read from `reader`, in order; stops at the first
/// error. Answers how many documents there were.
pub fn read_documents<T, E>(
    mut reader: impl BufRead,
    mut each: impl FnMut(usize, T) -> Result<(), E>,
) -> Result<usize, ReadError<E>>
where
    T: DeserializeOwned,
{
    match first_byte(&mut reader).map_err(ReadError::Io)? {
        None => Err(ReadError::Malformed(FieldError::new(
            "",
            "no documents; send a JSON array or JSON lines",
        ))),
        Some(b'[') => {
            let mut deserializer = serde_json::Deserializer::from_reader(reader);
            let count = each_in_array(&mut deserializer, &mut each)?;
            finish(&mut deserializer)?;
            Ok(count)
        }
        Some(_) => {
            let mut line = String::new();
            let (mut number, mut count) = (0, 0);
            loop {
                line.clear();
                if reader.read_line(&mut line).map_err(ReadError::Io)? == 0 {
                    return Ok(count);
                }
                number += 1;
                if line.trim().is_empty() {
                    continue;
                }
                let document = parse_line(&line, count, number)?;
                each(count, document).map_err(ReadError::Refused)?;
                count += 1;
            }
        }
    }
}

/// Documents a checking thread takes at a time: enough to make handing them over cheap,
/// few enough that a bad document early in the input stops the others soon.
const CHUNK_DOCUMENTS: usize = 256;
/// The most text a checking thread takes at a time, so the chunks in flight stay bounded in
/// memory however long the lines are.
const CHUNK_BYTES: usize = 1 << 18;

/// Like [`read_documents`], but for JSON lines the documents are parsed and checked on
/// `threads` threads: `check(index, document)` runs on one of them and answers what
/// `gather(index, checked)` takes, and `gather` runs on the calling thread, in the
/// documents' order. It stops at the first error in the input's order, with the same
/// error [`read_documents`] would give. A JSON array is read on the calling thread.
pub fn check_documents<T, C, E>(
    mut reader: impl BufRead,
    threads: usize,
    check: impl Fn(usize, T) -> Result<C, E> + Sync,
    mut gather: impl FnMut(usize, C) -> Result<(), E>,
) -> Result<usize, ReadError<E>>
where
    T: DeserializeOwned,
    C: Send,
    E: Send,
{
    let first = first_byte(&mut reader).map_err(ReadError::Io)?;
    if threads < 2 || first.is_none() || first == Some(b'[') {
        return read_documents(reader, |index, document| {
            gather(index, check(index, document)?)
        });
    }
    let (to_checkers, chunks) = mpsc::sync_channel::<Chunk>(threads * 2);
    // Dropped with the last checking thread, even one that panicked, so the reading side
    // never waits on a channel nobody takes from.
    let chunks = Arc::new(Mutex::new(chunks));
    let (to_gather, checked) = mpsc::channel::<Checked<C, E>>();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (chunks, to_gather, stop, check) =
                (Arc::clone(&chunks), to_gather.clone(), &stop, &check);
            scope.spawn(move || loop {
                let chunk = chunks.lock().unwrap_or_else(PoisonError::into_inner).recv();
                let Ok(chunk) = chunk else {
                    return;
                };
                if stop.load(Ordering::Relaxed) {
                    continue;
                }
                if to_gather.send(chunk.check(check)).is_err() {
                    return;
                }
            });
        }
        drop((to_gather, chunks));
        let read = split_lines(reader, to_checkers, &checked, &mut gather);
        if read.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        read
    })
}

/// JSON lines handed to a checking thread: the text of consecutive lines and, for each
/// document among them, its line number and where it is in the text.
struct Chunk {
    sequence: usize,
    first: usize,
    text: String,
    documents: Vec<(usize, Range<usize>)>,
}

/// A chunk checked: its sequence number, what `check` answered for its documents up to
/// the first that failed, and that failure.
type Checked<C, E> = (usize, Vec<C>, Option<ReadError<E>>);

impl Chunk {
    fn check<T: DeserializeOwned, C, E>(
        self,
        check: &impl Fn(usize, T) -> Result<C, E>,
    ) -> Checked<C, E> {
        let mut done = Vec::with_capacity(self.documents.len());
        for (offset, (number, range)) in self.documents.iter().enumerate() {
            let index = self.first + offset;
            let checked = parse_line(&self.text[range.clone()], index, *number)
                .and_then(|document| check(index, document).map_err(ReadError::Refused));
            match checked {
                Ok(checked) => done.push(checked),
                Err(error) => return (self.sequence, done, Some(error)),
            }
        }
        (self.sequence, done, None)
    }
}

/// The calling thread's part of [`check_documents`]: reads the lines into chunks, sends
/// them to the checking threads and gathers what comes back in the input's order.
fn split_lines<C, E>(
    mut reader: impl BufRead,
    to_checkers: mpsc::SyncSender<Chunk>,
    checked: &mpsc::Receiver<Checked<C, E>>,
    gather: &mut impl FnMut(usize, C) -> Result<(), E>,
) -> Result<usize, ReadError<E>> {
    let mut gathered = Gathered {
        next: 0,
        count: 0,
        waiting: BTreeMap::new(),
    };
    let (mut sent, mut number, mut count) = (0, 0, 0);
    let mut chunk = Chunk {
        sequence: 0,
        first: 0,
        text: String::new(),
        documents: Vec::new(),
    };
    loop {
        let start = chunk.text.len();
        let read = reader.read_line(&mut chunk.text).map_err(ReadError::Io)?;
        let more = read > 0;
        if more {
            number += 1;
            if chunk.text[start..].trim().is_empty() {
                chunk.text.truncate(start);
            } else {
                chunk.documents.push((number, start..chunk.text.len()));
                count += 1;
            }
        }
        let full = chunk.documents.len() >= CHUNK_DOCUMENTS || chunk.text.len() >= CHUNK_BYTES;
        if (full || !more) && !chunk.documents.is_empty() {
            let next = Chunk {
                sequence: sent + 1,
                first: count,
                text: String::with_capacity(chunk.text.capacity()),
                documents: Vec::with_capacity(CHUNK_DOCUMENTS),
            };
            // The checkers are all gone only when they panicked, which the scope reports.
            if to_checkers
                .send(std::mem::replace(&mut chunk, next))
                .is_err()
            {
                break;
            }
            sent += 1;
            while let Ok(done) = checked.try_recv() {
                gathered.take(done, gather)?;
            }
        }
        if !more {
            break;
        }
    }
    drop(to_checkers);
    while gathered.next < sent {
        let Ok(done) = checked.recv() else {
            break;
        };
        gathered.take(done, gather)?;
    }
    Ok(gathered.count)
}

/// Checked chunks that came back before the ones ahead of them.
struct Gathered<C, E> {
    next: usize,
    count: usize,
    waiting: BTreeMap<usize, (Vec<C>, Option<ReadError<E>>)>,
}

impl<C, E> Gathered<C, E> {
    /// Takes a checked chunk, and gathers every chunk now next in line.
    fn take(
        &mut self,
        (sequence, done, failed): Checked<C, E>,
        gather: &mut impl FnMut(usize, C) -> Result<(), E>,
    ) -> Result<(), ReadError<E>> {
        self.waiting.insert(sequence, (done, failed));
        while let Some((done, failed)) = self.waiting.remove(&self.next) {
            for checked in done {
                gather(self.count, checked).map_err(ReadError::Refused)?;
                self.count += 1;
            }
            if let Some(error) = failed {
                return Err(error);
            }
            self.next += 1;
        }
        Ok(())
    }
}

/// Every document of a body held in memory (a JSON array or JSON lines).
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, FieldError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| FieldError::new("", format!("body is not UTF-8: {e}")))?;
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let mut documents = Vec::new();
    let mut keep = |_, document| {
        documents.push(document);
        Ok::<(), std::convert::Infallible>(())
    };
    let read = if text.starts_with('[') {
        // As for a line: the path is tracked only to say where a body that fails is wrong.
        if let Ok(documents) = serde_json::from_str(text) {
            return Ok(documents);
        }
        let mut deserializer = serde_json::Deserializer::from_str(text);
        each_in_array(&mut deserializer, &mut keep).and_then(|_| finish(&mut deserializer))
    } else if text.is_empty() {
        return Err(FieldError::new("", "body is empty; send a JSON array"));
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .enumerate()
            .try_for_each(|(index, (number, line))| {
                keep(index, parse_line(line, index, number + 1)?).map_err(ReadError::Refused)
            })
    };
    match read {
        Ok(()) => Ok(documents),
        Err(ReadError::Malformed(error)) => Err(error),
        Err(ReadError::Io(error)) => Err(FieldError::new("", error.to_string())),
        Err(ReadError::Refused(never)) => match never {},
    }
}

/// The first byte that is not whitespace or a byte-order mark, left unread.
fn first_byte(reader: &mut impl BufRead) -> std::io::Result<Option<u8>> {
    loop {
        let buffer = reader.fill_buf()?;
        let Some(&byte) = buffer.first() else {
            return Ok(None);
        };
        if buffer.starts_with("\u{feff}".as_bytes()) {
            reader.consume(3);
        } else if byte.is_ascii_whitespace() {
            reader.consume(1);
        } else {
            return Ok(Some(byte));
        }
    }
}

fn parse_line<T: DeserializeOwned, E>(
    line: &str,
    index: usize,
    number: usize,
) -> Result<T, ReadError<E>> {
    let line = line.trim_start_matches('\u{feff}');
    // Tracking the path costs a fifth of the parse and only an error needs it: a line
    // that fails is parsed again with it.
    if let Ok(document) = serde_json::from_str(line) {
        return Ok(document);
    }
    let at = |path: String, message: String| {
        let path = if path == "." || path.is_empty() {
            format!("[{index}]")
        } else {
            format!("[{index}].{path}")
        };
        ReadError::Malformed(FieldError::new(path, format!("line {number}: {message}")))
    };
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let document = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| at(e.path().to_string(), e.inner().to_string()))?;
    deserializer
        .end()
        .map_err(|e| at(String::new(), e.to_string()))?;
    Ok(document)
}

fn finish<'de, R: serde_json::de::Read<'de>, E>(
    deserializer: &mut serde_json::Deserializer<R>,
) -> Result<(), ReadError<E>> {
    deserializer.end().map_err(|e| {
        ReadError::Malformed(FieldError::new(
            "",
            format!("trailing data after the array: {e}"),
        ))
    })
}

/// Hands each element of the array `deserializer` reads to `each` as it is read.
fn each_in_array<'de, R, T, E>(
    deserializer: &mut serde_json::Deserializer<R>,
    each: &mut impl FnMut(usize, T) -> Result<(), E>,
) -> Result<usize, ReadError<E>>
where
    R: serde_json::de::Read<'de>,
    T: DeserializeOwned,
{
    let mut track = serde_path_to_error::Track::new();
    let mut refused = None;
    let seed = Elements {
        each,
        refused: &mut refused,
        document: PhantomData,
    };
    let read = seed.deserialize(serde_path_to_error::Deserializer::new(
        deserializer,
        &mut track,
    ));
    if let Some(error) = refused {
        return Err(ReadError::Refused(error));
    }
    read.map_err(|e| {
        let path = track.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ReadError::Malformed(FieldError::new(path, e.to_string()))
    })
}

/// A seed that reads an array and hands each element on instead of collecting them.
struct Elements<'f, F, T, E> {
    each: &'f mut F,
    refused: &'f mut Option<E>,
    document: PhantomData<T>,
}

impl<'de, F, T, E> DeserializeSeed<'de> for Elements<'_, F, T, E>
where
    F: FnMut(usize, T) -> Result<(), E>,
    T: DeserializeOwned,
{
    type Value = usize;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F, T, E> Visitor<'de> for Elements<'_, F, T, E>
where
    F: FnMut(usize, T) -> Result<(), E>,
    T: DeserializeOwned,
{
    type Value = usize;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an array of documents")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut index = 0;
        while let Some(document) = seq.next_element::<T>()? {
            if let Err(error) = (self.each)(index, document) {
                *self.refused = Some(error);
                return Err(serde::de::Error::custom("stopped"));
            }
            index += 1;
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        a: i64,
    }

    fn streamed(input: &str) -> Result<Vec<Doc>, String> {
        let mut documents = Vec::new();
        read_documents(input.as_bytes(), |index, document: Doc| {
            assert_eq!(index, documents.len());
            documents.push(document);
            Ok::<(), ()>(())
        })
        .map(|_| documents)
        .map_err(|e| match e {
            ReadError::Malformed(e) => e.to_string(),
            other => format!("{other:?}"),
        })
    }

    #[test]
    fn arrays_and_json_lines_stream_alike() {
        let want = vec![Doc { a: 1 }, Doc { a: 2 }];
        assert_eq!(streamed("\u{feff} [{\"a\":1},{\"a\":2}]\n"), Ok(want));
        let want = vec![Doc { a: 1 }, Doc { a: 2 }];
        assert_eq!(streamed("{\"a\":1}\n\n{\"a\":2}\n"), Ok(want));
        assert_eq!(
            parse_body::<Doc>(b"{\"a\":1}\n{\"a\":2}").map(|d| d.len()),
            Ok(2)
        );
    }

    /// Lines of `{"a":i}` with a blank line after every seventh, with `bad` replacing
    /// the line of document `at`.
    fn lines(n: usize, at: usize, bad: &str) -> String {
        let mut text = String::new();
        for i in 0..n {
            if i == at {
                text.push_str(bad);
            } else {
                text.push_str(&format!("{{\"a\":{i}}}"));
            }
            text.push('\n');
            if i % 7 == 6 {
                text.push_str("  \n");
            }
        }
        text
    }

    /// What checking `input` on `threads` threads gathers, refusing in `check` a document
    /// whose `a` is `refused_by_check` and in `gather` the document at `refused_by_gather`.
    fn checked(
        input: &str,
        threads: usize,
        refused_by_check: i64,
        refused_by_gather: usize,
    ) -> (Vec<(usize, i64)>, Result<usize, String>) {
        let mut gathered = Vec::new();
        let read = check_documents(
            input.as_bytes(),
            threads,
            |index, document: Doc| {
                if document.a == refused_by_check {
                    return Err(format!("check refused [{index}]"));
                }
                Ok((index, document.a))
            },
            |index, (checked_index, a)| {
                assert_eq!(index, checked_index);
                if index == refused_by_gather {
                    return Err(format!("gather refused [{index}]"));
                }
                gathered.push((index, a));
                Ok(())
            },
        );
        let read = read.map_err(|e| match e {
            ReadError::Malformed(e) => e.to_string(),
            ReadError::Refused(e) => e,
            ReadError::Io(e) => e.to_string(),
        });
        (gathered, read)
    }

    #[test]
    fn checking_on_threads_gathers_in_order_and_stops_at_the_first_error() {
        let n = 3_000;
        let whole = lines(n, usize::MAX, "");
        let (gathered, read) = checked(&whole, 4, -1, usize::MAX);
        assert_eq!(read, Ok(n));
        let want: Vec<(usize, i64)> = (0..n).map(|i| (i, i as i64)).collect();
        assert_eq!(gathered, want);
        assert_eq!(checked(&whole, 1, -1, usize::MAX), (want, Ok(n)));
        assert_eq!(checked("", 4, -1, usize::MAX).1.map_err(|_| ()), Err(()));

        // Whichever error comes first in the input wins, as when read on one thread,
        // and everything before it is gathered.
        let malformed = lines(n, 2_100, "{\"a\":true}");
        for (refused_by_check, refused_by_gather) in [
            (-1, usize::MAX),
            (2_500, 2_900),
            (1_000, 2_900),
            (2_500, 300),
            (2_100, 2_100),
        ] {
            let one = checked(&malformed, 1, refused_by_check, refused_by_gather);
            let four = checked(&malformed, 4, refused_by_check, refused_by_gather);
            assert_eq!(one, four, "{refused_by_check} {refused_by_gather}");
            let first = (refused_by_check as usize)
                .min(refused_by_gather)
                .min(2_100);
            assert_eq!(four.0.len(), first);
            let error = four.1.unwrap_err();
            assert!(error.contains(&format!("[{first}]")), "{error}");
        }
        let (_, read) = checked(&malformed, 4, -1, usize::MAX);
        // Document 2,100 is on line 2,401: one blank line after every seven documents.
        let error = read.unwrap_err();
        assert!(
            error.contains("[2100].a") && error.contains("line 2401"),
            "{error}"
        );
    }

    #[test]
    fn errors_name_the_document_and_field() {
        let error = streamed("[{\"a\":1},{\"a\":\"x\"}]").unwrap_err();
        assert!(error.starts_with("[1].a:"), "{error}");
        let error = streamed("{\"a\":1}\n{\"a\":true}").unwrap_err();
        assert!(
            error.contains("[1].a") && error.contains("line 2"),
            "{error}"
        );
        assert!(streamed("[{\"a\":1}] x").is_err());
        assert!(parse_body::<Doc>(b"[{\"a\":1}] x").is_err());
        assert!(parse_body::<Doc>(b"  ").is_err());
        let unknown = parse_body::<Doc>(b"[{\"a\":1,\"b\":2}]").unwrap_err();
        assert!(unknown.to_string().contains('b'), "{unknown}");
        let error = parse_body::<Doc>(b"{\"a\":1}\n{\"a\":true}").unwrap_err();
        assert!(
            error.path == "[1].a" && error.message.contains("line 2"),
            "{error}"
        );
        assert!(streamed("  ").is_err());
        let stopped = read_documents("[{\"a\":1},{\"a\":2}]".as_bytes(), |index, _: Doc| {
            if index == 1 {
                Err("enough")
            } else {
                Ok(())
            }
        });
        assert!(matches!(stopped, Err(ReadError::Refused("enough"))));
    }
}
