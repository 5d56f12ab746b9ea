//! What a simulated file holds: its bytes in shared pages, and the writes not synced yet.

use std::collections::BTreeMap;
use std::sync::Arc;

/// A change to a file not synced yet.
#[derive(Debug, Clone)]
pub(super) enum Op {
    Write {
        at: usize,
        data: Vec<u8>,
    },
    /// A write of zeroes (a journal grows by writing them), kept without its bytes.
    Zeroes {
        at: usize,
        len: usize,
    },
    Len(usize),
}

impl Op {
    pub(super) fn write(at: usize, data: &[u8]) -> Self {
        match data.iter().all(|&b| b == 0) {
            true => Op::Zeroes {
                at,
                len: data.len(),
            },
            false => Op::Write {
                at,
                data: data.to_vec(),
            },
        }
    }

    pub(super) fn apply(&self, content: &mut Content) {
        match self {
            Op::Write { at, data } => content.write(*at, data),
            Op::Zeroes { at, len } => content.zero(*at, *len),
            Op::Len(len) => content.set_len(*len),
        }
    }
}

/// Bytes are kept in pages of this size, shared between copies until written.
const PAGE: usize = 4096;

/// A file's bytes, in pages shared between copies until one is written (files are copied at
/// every I/O call); a page never written reads as zeroes.
#[derive(Debug, Clone, Default)]
pub struct Content {
    pages: BTreeMap<usize, Arc<[u8; PAGE]>>,
    len: usize,
}

impl Content {
    /// Runs `each(page, offset in page, range of data)` over the pages `at..at + len` covers.
    fn spans(at: usize, len: usize, mut each: impl FnMut(usize, usize, std::ops::Range<usize>)) {
        let mut done = 0;
        while done < len {
            let pos = at + done;
            let (page, offset) = (pos / PAGE, pos % PAGE);
            let n = (PAGE - offset).min(len - done);
            each(page, offset, done..done + n);
            done += n;
        }
    }

    fn write(&mut self, at: usize, data: &[u8]) {
        Self::spans(at, data.len(), |page, offset, range| {
            let n = range.len();
            let page = self
                .pages
                .entry(page)
                .or_insert_with(|| Arc::new([0; PAGE]));
            Arc::make_mut(page)[offset..offset + n].copy_from_slice(&data[range]);
        });
        self.len = self.len.max(at + data.len());
    }

    fn zero(&mut self, at: usize, len: usize) {
        Self::spans(at, len, |page, offset, range| {
            if let Some(p) = self.pages.get_mut(&page) {
                Arc::make_mut(p)[offset..offset + range.len()].fill(0);
            }
        });
        self.len = self.len.max(at + len);
    }

    /// How long the file is.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn set_len(&mut self, len: usize) {
        if len < self.len {
            self.zero(len, self.len - len);
        }
        self.len = len;
    }

    pub(super) fn read(&self, at: usize, out: &mut [u8]) -> bool {
        if at + out.len() > self.len {
            return false;
        }
        Self::spans(at, out.len(), |page, offset, range| {
            let n = range.len();
            match self.pages.get(&page) {
                Some(p) => out[range].copy_from_slice(&p[offset..offset + n]),
                None => out[range].fill(0),
            }
        });
        true
    }
}

/// One file: what survives a crash for certain, and what was written since, in order (each
/// with its place in the order of every write to the disk).
#[derive(Debug, Clone, Default)]
pub(super) struct File {
    pub(super) synced: Content,
    pub(super) current: Content,
    pub(super) pending: Vec<(u64, Op)>,
}
