//! Reading documents one at a time from a JSON array or JSON lines, so a file of a
//! million orders is never held whole. Errors name the document's index and the path of
//! the offending field (and, for JSON lines, the line).

use std::io::BufRead;
use std::marker::PhantomData;

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
