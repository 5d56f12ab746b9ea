//! What a write transaction changed, as bytes: every insert and remove in order, by table
//! name and raw key and value. Applied to the state the transaction began from, they give
//! the state it committed; that is what the journal keeps until the database is durable.

use super::error::JournalError;

const INSERT: u8 = 1;
const REMOVE: u8 = 2;

/// The changes of one write transaction, in order.
#[derive(Debug)]
pub(in crate::store) struct Redo {
    bytes: Vec<u8>,
    /// Whether changes are recorded at all (not for bulk loads, or applying the journal).
    recording: bool,
    /// False once the transaction changed something the log cannot express (a range
    /// removal), which must then commit durably instead of through the journal.
    complete: bool,
}

impl Default for Redo {
    fn default() -> Self {
        Self {
            bytes: Vec::with_capacity(4096),
            recording: true,
            complete: true,
        }
    }
}

/// One change read back from a redo log.
#[derive(Debug, PartialEq)]
pub(in crate::store) struct Op<'a> {
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

    /// Stops recording: the log is not wanted.
    pub fn stop(&mut self) {
        self.recording = false;
        self.bytes = Vec::new();
    }

    /// The log cannot express this transaction: it is no longer a log to journal.
    pub fn incomplete(&mut self) {
        self.complete = false;
    }

    /// The encoded changes, if they express the whole transaction.
    pub fn bytes(&self) -> Option<&[u8]> {
        (self.recording && self.complete).then_some(self.bytes.as_slice())
    }

    /// Appends `tag`, then each chunk (table name, key, value) with its length.
    fn op(&mut self, tag: u8, chunks: &[&[u8]]) {
        if !self.recording {
            return;
        }
        let bytes = &mut self.bytes;
        bytes.push(tag);
        for chunk in chunks {
            // A chunk is a name, a key or a value: far below 4 GiB.
            let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(chunk);
        }
    }
}

/// Reads the changes in `bytes`, in order; an encoding cut short ends with an error.
pub(in crate::store) fn ops(
    mut bytes: &[u8],
) -> impl Iterator<Item = Result<Op<'_>, JournalError>> {
    std::iter::from_fn(move || {
        let (&tag, rest) = bytes.split_first()?;
        let op = (|| {
            let (table, rest) = chunk(rest)?;
            let (key, rest) = chunk(rest)?;
            let table = std::str::from_utf8(table).ok()?;
            let (value, rest) = match tag {
                INSERT => {
                    let (value, rest) = chunk(rest)?;
                    (Some(value), rest)
                }
                REMOVE => (None, rest),
                _ => return None,
            };
            Some((Op { table, key, value }, rest))
        })();
        match op {
            Some((op, rest)) => {
                bytes = rest;
                Some(Ok(op))
            }
            None => {
                bytes = &[];
                Some(Err(JournalError::Undecodable))
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
        let bytes = redo.bytes().unwrap();
        let read: Vec<Op<'_>> = ops(bytes).collect::<Result<_, _>>().unwrap();
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
        let bytes = redo.bytes().unwrap();
        for cut in 1..bytes.len() {
            let read: Vec<_> = ops(&bytes[..cut]).collect();
            assert!(matches!(read.last(), Some(Err(_))), "cut at {cut}");
        }
    }

    #[test]
    fn a_stopped_log_records_nothing() {
        let mut redo = Redo::default();
        redo.stop();
        redo.insert("audit", b"1", b"x");
        assert!(redo.bytes().is_none());
    }

    #[test]
    fn an_incomplete_log_has_no_bytes() {
        let mut redo = Redo::default();
        redo.insert("audit", b"1", b"x");
        redo.incomplete();
        assert!(redo.bytes().is_none());
    }
}
