//! What a write transaction changed, as bytes: every insert and remove in order, by table
//! name and raw key and value. Applied to the state the transaction began from, they give
//! the state it committed; that is what the journal keeps until the database is durable.

use super::StoreError;

const INSERT: u8 = 1;
const REMOVE: u8 = 2;

/// The changes of one write transaction, in order.
#[derive(Debug)]
pub(super) struct Redo {
    /// `None` once the transaction changed something the log cannot express (a range
    /// removal), which must then commit durably instead of through the journal; or when
    /// nothing is recorded at all (bulk loads, applying the journal).
    bytes: Option<Vec<u8>>,
}

impl Default for Redo {
    fn default() -> Self {
        Self {
            bytes: Some(Vec::with_capacity(4096)),
        }
    }
}

/// One change read back from a redo log.
#[derive(Debug, PartialEq)]
pub(super) struct Op<'a> {
    /// The table's name.
    pub table: &'a str,
    /// The key's bytes.
    pub key: &'a [u8],
    /// The new value's bytes, or `None` for a removal.
    pub value: Option<&'a [u8]>,
}

impl Redo {
    /// Records `key` set to `value` in `table`.
    pub fn insert(&mut self, table: &str, key: &[u8], value: &[u8]) {
        self.op(INSERT, &[table.as_bytes(), key, value]);
    }

    /// Records `key` removed from `table`.
    pub fn remove(&mut self, table: &str, key: &[u8]) {
        self.op(REMOVE, &[table.as_bytes(), key]);
    }

    /// Stops recording: the log cannot express this transaction, or is not wanted.
    pub fn incomplete(&mut self) {
        self.bytes = None;
    }

    /// The encoded changes, if they express the whole transaction.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        self.bytes
    }

    /// Appends `tag`, then each chunk (table name, key, value) with its length.
    fn op(&mut self, tag: u8, chunks: &[&[u8]]) {
        let Some(bytes) = &mut self.bytes else {
            return;
        };
        bytes.push(tag);
        for chunk in chunks {
            // A chunk is a name, a key or a value: far below 4 GiB.
            let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(chunk);
        }
    }
}

/// Reads the changes in `bytes`, in order.
pub(super) fn ops(mut bytes: &[u8]) -> impl Iterator<Item = Result<Op<'_>, StoreError>> {
    std::iter::from_fn(move || {
        let (&tag, rest) = bytes.split_first()?;
        let op = (|| {
            let (table, rest) = chunk(rest)?;
            let (key, rest) = chunk(rest)?;
            let table = std::str::from_utf8(table).ok()?;
            match tag {
                INSERT => {
                    let (value, rest) = chunk(rest)?;
                    Some((
                        Op {
                            table,
                            key,
                            value: Some(value),
                        },
                        rest,
                    ))
                }
                REMOVE => Some((
                    Op {
                        table,
                        key,
                        value: None,
                    },
                    rest,
                )),
                _ => None,
            }
        })();
        match op {
            Some((op, rest)) => {
                bytes = rest;
                Some(Ok(op))
            }
            None => {
                bytes = &[];
                Some(Err(StoreError::Journal("a journal record does not decode")))
            }
        }
    })
}

fn chunk(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn changes_read_back_in_order() {
        let mut redo = Redo::default();
        redo.insert("requests", b"req_1", b"{}");
        redo.remove("open_requests", b"\x01\x02");
        redo.insert("tools", b"", b"");
        let bytes = redo.into_bytes().unwrap();
        let read: Vec<Op<'_>> = ops(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            read,
            [
                Op {
                    table: "requests",
                    key: b"req_1",
                    value: Some(b"{}")
                },
                Op {
                    table: "open_requests",
                    key: b"\x01\x02",
                    value: None
                },
                Op {
                    table: "tools",
                    key: b"",
                    value: Some(b"")
                },
            ]
        );
    }

    #[test]
    fn a_cut_log_is_an_error_not_a_shorter_log() {
        let mut redo = Redo::default();
        redo.insert("requests", b"req_1", b"{}");
        let bytes = redo.into_bytes().unwrap();
        for cut in 1..bytes.len() {
            let read: Vec<_> = ops(&bytes[..cut]).collect();
            assert!(matches!(read.last(), Some(Err(_))), "cut at {cut}");
        }
    }

    #[test]
    fn an_incomplete_log_has_no_bytes() {
        let mut redo = Redo::default();
        redo.insert("audit", b"1", b"x");
        redo.incomplete();
        assert!(redo.into_bytes().is_none());
    }
}
