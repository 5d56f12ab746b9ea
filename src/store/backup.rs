//! Online backup: a consistent copy of a running store, made while writers go on.
//!
//! The copy is a read snapshot — everything durable when the backup began, hence every
//! change answered before it — written as a new database file, with the audit key files
//! next to it. Nothing waits for it: redb readers never block the writer, and the snapshot
//! keeps the pages it reads until it ends. The copy has no journal (its database file is
//! made durable when written) and opens like any data folder.
//!
//! `secrets.key` is never part of a copy: with it, the copy would carry the connectors' and
//! Jira's credentials, which the server never gives out. It never changes, so an operator
//! keeps it apart (see docs/operations.md).

use super::codec::Tables;
use super::tables::{self, CONNECTORS, JIRA_SITE, JOURNAL, JOURNAL_SEQ};
use super::{AuditQueries, CACHE_BYTES, ReadView, Store, StoreError};
use redb::ReadableTableMetadata;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a store holds, in a few figures that a copy must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holdings {
    /// The number of the last change it holds: every change is numbered as it commits.
    pub journal_seq: u64,
    /// The `seq` of its last audit entry, if any.
    pub audit_seq: Option<u64>,
    /// That entry's `entry_hash`.
    pub audit_hash: Option<String>,
    /// Whether it holds credentials sealed with `secrets.key` (connectors, the Jira site).
    pub sealed_credentials: bool,
}

/// A copy of the store in a folder of its own inside the data folder; the folder is
/// removed when the copy is dropped, however the backup ends.
#[derive(Debug)]
pub struct BackupCopy {
    dir: tempfile::TempDir,
    holdings: Holdings,
    files: Vec<&'static str>,
}

impl BackupCopy {
    /// What the copy holds.
    pub fn holdings(&self) -> &Holdings {
        &self.holdings
    }

    /// The copy's files, as `(name in a data folder, where it is now)`.
    pub fn files(&self) -> impl Iterator<Item = (&'static str, PathBuf)> + '_ {
        self.files
            .iter()
            .map(|name| (*name, self.dir.path().join(name)))
    }
}

/// The key files a copy carries: without them its audit log cannot be verified or continued.
const KEY_FILES: [&str; 2] = [crate::evidence::KEY_FILE, crate::evidence::SIGNING_KEY_FILE];

impl Store {
    /// Copies everything durable now into a new folder inside the data folder: the database
    /// as a new file, and the audit key files.
    pub fn back_up(&self) -> Result<BackupCopy, StoreError> {
        let snapshot = self.durable.read()?;
        let folder = |source| StoreError::Folder {
            path: self.data_dir.display().to_string(),
            source,
        };
        let dir = tempfile::Builder::new()
            .prefix(".backup-")
            .tempdir_in(&*self.data_dir)
            .map_err(folder)?;
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(dir.path().join(Store::FILE))?;
        let txn = db.begin_write()?;
        tables::copy_all(&snapshot, &txn)?;
        txn.commit()?;
        drop(db);
        for name in KEY_FILES {
            std::fs::copy(self.data_dir.join(name), dir.path().join(name)).map_err(folder)?;
        }
        let holdings = ReadView {
            txn: snapshot,
            directory_generation: 0,
        }
        .holdings()?;
        let mut files = vec![Store::FILE];
        files.extend(KEY_FILES);
        Ok(BackupCopy {
            dir,
            holdings,
            files,
        })
    }

    /// The data folder a store was opened in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

impl ReadView {
    /// What this snapshot holds.
    pub fn holdings(&self) -> Result<Holdings, StoreError> {
        let journal_seq = self
            .open(JOURNAL)?
            .get(JOURNAL_SEQ)?
            .map_or(0, |seq| seq.value());
        let head = self.audit_head()?;
        let sealed_credentials =
            !self.open(CONNECTORS)?.is_empty()? || !self.open(JIRA_SITE)?.is_empty()?;
        Ok(Holdings {
            journal_seq,
            audit_hash: head.as_ref().map(|(_, hash)| hash.clone()),
            audit_seq: head.map(|(seq, _)| seq),
            sealed_credentials,
        })
    }
}
