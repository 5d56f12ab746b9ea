//! Opening a data folder: the journal's records the database lacks are applied, and a
//! journal that cannot be used stops the store with what the operator can do.

use super::journals::Journals;
use crate::store::audit::Sealing;
use crate::store::tables::{self, Spec};
use crate::store::{StoreError, WriteView};
use redb::{Database, ReadableDatabase};
use std::path::Path;
use std::sync::Arc;

/// At open: a journal whose content is wrong names its file and what the operator can do.
pub(super) fn unusable(path: &Path) -> impl Fn(StoreError) -> StoreError + '_ {
    move |e| match e {
        StoreError::Journal(reason) if !reason.is_io() => StoreError::UnusableJournal {
            path: path.display().to_string(),
            reason,
        },
        other => other,
    }
}

/// Applies the journal's records that the database does not hold yet, durably; returns
/// the number of the last record the database now holds.
pub(super) fn recover(
    db: &Database,
    journal: &Journals,
    sealing: &Arc<Sealing>,
) -> Result<u64, StoreError> {
    let applied = db
        .begin_read()?
        .open_table(tables::JOURNAL::DEF)?
        .get(tables::JOURNAL_SEQ)?
        .map_or(0, |seq| seq.value());
    let records = journal.records_after(applied)?;
    let Some(last) = records.last().map(|r| r.seq) else {
        return Ok(applied);
    };
    let txn = db.begin_write()?;
    let mut view = WriteView::new(&txn, Arc::clone(sealing)).unrecorded();
    for record in &records {
        view.redo(&record.payload)?;
    }
    drop(view);
    txn.commit()?;
    tracing::info!(
        records = records.len(),
        last,
        "applied the journal's records to the database"
    );
    Ok(last)
}

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod tests;
