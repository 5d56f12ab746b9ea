//! The store: the only module that knows redb.
//!
//! [`Store::read`] gives a snapshot; [`Store::write`] runs a closure in one write transaction
//! that commits durably, or not at all, when the closure returns.

mod audit;
mod codec;
mod decisions;
mod handle;
mod insights;
mod lifecycle;
mod queries;
mod retention;
mod tables;
mod writes;

pub use audit::{AuditQueries, CheckpointPolicy, NewAuditEntry};
pub use decisions::{DecisionQueries, DecisionWindow};
pub use insights::InsightQueries;
pub use lifecycle::{GrantFilter, LifecycleQueries, TimeKey};
pub use queries::{Queries, RequestFilter};
pub use retention::Pruned;
pub use writes::WriteView;

use crate::evidence::{MacKey, PublicKey, Signer};
use audit::Sealing;
use redb::{Database, ReadTransaction, ReadableDatabase};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// redb's page cache. Its default (1 GiB) lets a busy server's memory grow with the file;
/// 128 MiB holds the pages decisions read (directory, catalog, open-grant indexes) for
/// tens of thousands of users.
const CACHE_BYTES: usize = 128 * 1024 * 1024;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb failed.
    #[error("database error: {0}")]
    Database(#[from] redb::Error),
    /// A stored record does not decode.
    #[error("corrupt record in table {table}: {source}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// A record that another one refers to is missing.
    #[error("the store is inconsistent: no {0}")]
    Missing(&'static str),
    /// A record does not encode.
    #[error("cannot encode record: {0}")]
    Encode(serde_json::Error),
    /// The audit key file could not be read or created.
    #[error(transparent)]
    Key(#[from] crate::evidence::KeyError),
    /// A table was opened twice at once in one write transaction (a bug in the store).
    #[error("table {0} is already in use in this transaction")]
    TableInUse(String),
    /// The data folder could not be prepared.
    #[error("cannot use data folder {path}: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                Self::Database(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// The embedded database; clones share it.
#[derive(Debug, Clone)]
pub struct Store {
    db: Arc<Database>,
    /// Bumped after every commit that changed users, groups or tools, so that caches of
    /// directory and catalog facts know when they are stale.
    directory_generation: Arc<AtomicU64>,
    /// Seals every audit entry and signs checkpoints; the keys are kept in files next to the
    /// database, never inside it.
    sealing: Arc<Sealing>,
}

/// A consistent snapshot for reading.
pub struct ReadView {
    txn: ReadTransaction,
    directory_generation: u64,
}

impl ReadView {
    /// The directory generation when this snapshot began: anything cached under it is at
    /// least as new as the snapshot's users, groups and tools.
    pub fn directory_generation(&self) -> u64 {
        self.directory_generation
    }
}

impl Store {
    /// The database file inside a data folder.
    pub const FILE: &'static str = "clearance.redb";

    /// Opens (creating if needed) the database in `data_dir`, and every table, with the
    /// default checkpoint policy.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, CheckpointPolicy::default())
    }

    /// Opens (creating if needed) the database in `data_dir`, its key files, and every table.
    pub fn open_with(data_dir: &Path, policy: CheckpointPolicy) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Folder {
            path: data_dir.display().to_string(),
            source,
        })?;
        let key = MacKey::load_or_create(&data_dir.join(crate::evidence::KEY_FILE))?;
        let signer = Signer::load_or_create(&data_dir.join(crate::evidence::SIGNING_KEY_FILE))?;
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(data_dir.join(Self::FILE))?;
        let store = Self {
            db: db.into(),
            directory_generation: Arc::default(),
            sealing: Arc::new(Sealing {
                key,
                signer,
                policy,
            }),
        };
        let txn = store.db.begin_write()?;
        tables::create_all(&txn)?;
        txn.commit()?;
        Ok(store)
    }

    /// The key that seals audit entries, for verifying them.
    pub fn audit_key(&self) -> &MacKey {
        &self.sealing.key
    }

    /// The key that verifies checkpoints.
    pub fn public_key(&self) -> &PublicKey {
        self.sealing.signer.public_key()
    }

    /// A snapshot of everything committed so far.
    pub fn read(&self) -> Result<ReadView, StoreError> {
        // The generation is read before the snapshot begins: a commit that lands in between
        // is then seen by the snapshot but tagged with the older generation, never the reverse.
        let directory_generation = self.directory_generation.load(Ordering::Acquire);
        Ok(ReadView {
            txn: self.db.begin_read()?,
            directory_generation,
        })
    }

    /// Runs `f` in one write transaction and commits it durably if `f` succeeds.
    pub fn write<T, E>(&self, f: impl FnOnce(&mut WriteView<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let txn = self.db.begin_write().map_err(StoreError::from)?;
        self.run(txn, f)
    }

    /// Like [`Store::write`] but without waiting for the disk: for bulk loads in benchmarks.
    pub fn write_unsynced<T, E>(
        &self,
        f: impl FnOnce(&mut WriteView<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut txn = self.db.begin_write().map_err(StoreError::from)?;
        txn.set_durability(redb::Durability::None)
            .map_err(|e| StoreError::Database(redb::Error::from(e)))?;
        self.run(txn, f)
    }

    fn run<T, E>(
        &self,
        txn: redb::WriteTransaction,
        f: impl FnOnce(&mut WriteView<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut view = WriteView::new(&txn, Arc::clone(&self.sealing));
        let value = f(&mut view)?;
        // The view's open tables close here, before the commit that needs them closed.
        let touched_directory = view.finish();
        txn.commit().map_err(StoreError::from)?;
        if touched_directory {
            self.directory_generation.fetch_add(1, Ordering::AcqRel);
        }
        Ok(value)
    }
}
