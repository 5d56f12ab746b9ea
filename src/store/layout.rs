//! Which layout of tables and records a database holds, so that no build misreads a database
//! written by another.
//!
//! The layout number is kept in [`META`] under [`KEY`]. A database without it was written
//! before the number existed, in layout 1, or is new. Opening a database of a later layout
//! than this build's stops the store before anything is written; one of an earlier layout is
//! brought up to this build's by [`STEPS`] in one durable transaction, after the journal's
//! records (written in the earlier layout) have been applied.
//!
//! Changing what a table holds in a way another build would misread (key or value types,
//! what an index means, how records are encoded) means: bump [`LAYOUT`], add the step that
//! rewrites the previous layout into the new one (the array's length follows [`LAYOUT`], so
//! a bump without a step does not compile), and name every table a step retires in
//! `tables::RETIRED`: journal records of the earlier layout that change it are then skipped,
//! which suits a table the step deletes (a step that moves a retired table's data elsewhere
//! needs those records applied instead, so keeps the table in `tables!` until a later layout).

use super::StoreError;
use super::tables::{META, PENDING_BY_AGE, Spec};
use redb::{Database, ReadableDatabase, TableError, WriteTransaction};
use std::path::Path;

/// The layout this build reads and writes.
pub(super) const LAYOUT: u64 = 3;

/// The key of the layout number in [`META`].
const KEY: &str = "layout";

/// Rewrites a database of one layout into the next.
type Step = fn(&WriteTransaction) -> Result<(), StoreError>;

/// `STEPS[n - 1]` turns layout `n` into layout `n + 1`.
const STEPS: [Step; (LAYOUT - 1) as usize] = [drop_pending_by_age, connected_mode_and_jira];

/// Layout 1 → 2: [`PENDING_BY_AGE`] goes.
fn drop_pending_by_age(txn: &WriteTransaction) -> Result<(), StoreError> {
    // Deleting goes by name alone; the key and value types here are never checked.
    txn.delete_table(redb::TableDefinition::<&str, ()>::new(PENDING_BY_AGE))?;
    Ok(())
}

/// Layout 2 → 3: connected mode and the Jira outbox. Their tables start empty (opening
/// creates them) and every job then is manual, so nothing is rewritten; the number stops an
/// earlier build, which would leave the due-job and delivery indexes stale, from opening the
/// database.
fn connected_mode_and_jira(_: &WriteTransaction) -> Result<(), StoreError> {
    Ok(())
}

/// What opening found: the database's layout, and whether it is marked with it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Found {
    layout: u64,
    marked: bool,
}

/// Reads the layout of the database at `path` without writing anything; a layout this build
/// does not know (a later one) is an error that names the file and both numbers.
pub(super) fn check(db: &Database, path: &Path) -> Result<Found, StoreError> {
    let found = read(db)?;
    if !(1..=LAYOUT).contains(&found.layout) {
        return Err(StoreError::UnknownLayout {
            path: path.display().to_string(),
            found: found.layout,
            supported: LAYOUT,
        });
    }
    Ok(found)
}

fn read(db: &Database) -> Result<Found, StoreError> {
    let txn = db.begin_read()?;
    let marked = match txn.open_table(META::DEF) {
        Ok(meta) => meta.get(KEY)?.map(|n| n.value()),
        Err(TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let layout = match marked {
        Some(layout) => layout,
        None if txn.list_tables()?.next().is_some() => 1,
        None => LAYOUT,
    };
    Ok(Found {
        layout,
        marked: marked.is_some(),
    })
}

/// Brings a database of an earlier layout up to this build's and marks it; does nothing to
/// one that is already marked with this build's layout.
pub(super) fn upgrade(db: &Database, found: Found) -> Result<(), StoreError> {
    if found.marked && found.layout == LAYOUT {
        return Ok(());
    }
    let first = usize::try_from(found.layout.saturating_sub(1)).unwrap_or(usize::MAX);
    let txn = db.begin_write()?;
    for step in STEPS.get(first..).unwrap_or_default() {
        step(&txn)?;
    }
    txn.open_table(META::DEF)?.insert(KEY, LAYOUT)?;
    txn.commit()?;
    if found.layout < LAYOUT {
        tracing::info!(
            from = found.layout,
            to = LAYOUT,
            "upgraded the database's layout"
        );
    }
    Ok(())
}

/// Marks the database with `layout` (or removes the mark), as another build would have.
#[cfg(test)]
pub(super) fn mark(db: &Database, layout: Option<u64>) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META::DEF)?;
        match layout {
            Some(layout) => meta.insert(KEY, layout)?,
            None => meta.remove(KEY)?,
        };
    }
    txn.commit()?;
    Ok(())
}

/// The layout the database is marked with, if any.
#[cfg(test)]
pub(super) fn marked(db: &Database) -> Result<Option<u64>, StoreError> {
    let found = read(db)?;
    Ok(found.marked.then_some(found.layout))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::{LAYOUT, PENDING_BY_AGE, mark, marked};
    use crate::domain::{Email, User};
    use crate::store::durable::Redo;
    use crate::store::{Queries, Store, StoreError};
    use std::path::Path;

    fn email() -> Email {
        Email::parse("email", "ada@example.com").unwrap()
    }

    /// A data folder holding one user, closed.
    fn folder_with_a_user(dir: &Path) {
        let store = Store::open(dir).unwrap();
        let user: User =
            serde_json::from_value(serde_json::json!({"email": "ada@example.com", "groups": []}))
                .unwrap();
        store.write(|w| w.put_user(&user)).unwrap();
    }

    fn database(dir: &Path) -> redb::Database {
        redb::Database::open(dir.join(Store::FILE)).unwrap()
    }

    fn has_the_user(store: &Store) -> bool {
        store.read().unwrap().user(&email()).unwrap().is_some()
    }

    #[test]
    fn a_new_database_is_marked_with_this_builds_layout() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        assert_eq!(marked(&database(dir.path())).unwrap(), Some(LAYOUT));
    }

    /// What a build of layout 1 leaves: its `pending_by_age` table, with or without the mark.
    fn layout_1(dir: &Path, marked: Option<u64>) {
        folder_with_a_user(dir);
        let db = database(dir);
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<(i64, &str), ()>::new(
            PENDING_BY_AGE,
        ))
        .unwrap()
        .insert((1_772_442_000_000, "req_019cae2e5a80"), ())
        .unwrap();
        txn.commit().unwrap();
        mark(&db, marked).unwrap();
    }

    fn table_names(dir: &Path) -> Vec<String> {
        use redb::{ReadableDatabase, TableHandle};
        let db = database(dir);
        let txn = db.begin_read().unwrap();
        txn.list_tables()
            .unwrap()
            .map(|t| t.name().to_owned())
            .collect()
    }

    #[test]
    fn a_database_of_layout_1_is_brought_up_to_this_builds_layout_marked_or_not() {
        for mark in [None, Some(1)] {
            let dir = tempfile::tempdir().unwrap();
            layout_1(dir.path(), mark);
            assert!(table_names(dir.path()).contains(&PENDING_BY_AGE.to_owned()));

            let store = Store::open(dir.path()).unwrap();
            assert!(has_the_user(&store));
            drop(store);
            assert_eq!(marked(&database(dir.path())).unwrap(), Some(LAYOUT));
            assert!(!table_names(dir.path()).contains(&PENDING_BY_AGE.to_owned()));
        }
    }

    #[test]
    fn a_journal_record_of_layout_1_applies_without_its_retired_table() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user: User =
            serde_json::from_value(serde_json::json!({"email": "ada@example.com", "groups": []}))
                .unwrap();
        let mut log = Redo::default();
        log.insert(PENDING_BY_AGE, b"a key", b"");
        log.insert(
            "users",
            b"ada@example.com",
            &serde_json::to_vec(&user).unwrap(),
        );
        let log = log.bytes().unwrap().to_vec();
        store.write(|w| w.redo(&log)).unwrap();
        assert!(has_the_user(&store));
        drop(store);
        assert!(!table_names(dir.path()).contains(&PENDING_BY_AGE.to_owned()));
    }

    #[test]
    fn a_database_of_a_layout_this_build_does_not_know_stops_the_store_and_is_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        folder_with_a_user(dir.path());
        for unknown in [LAYOUT + 1, 0] {
            mark(&database(dir.path()), Some(unknown)).unwrap();
            let error = Store::open(dir.path()).unwrap_err();
            let StoreError::UnknownLayout { found, .. } = &error else {
                panic!("expected an unknown layout, got {error}");
            };
            assert_eq!(*found, unknown);
            let message = error.to_string();
            let file = dir.path().join(Store::FILE).display().to_string();
            assert!(
                message.starts_with(&format!("{file} holds layout {unknown} ")),
                "{message}"
            );
            assert!(message.contains(&format!("reads layouts 1 to {LAYOUT}; nothing was changed")));
            assert!(message.contains("restore the data folder from a backup"));
            assert_eq!(marked(&database(dir.path())).unwrap(), Some(unknown));
        }

        mark(&database(dir.path()), Some(LAYOUT)).unwrap();
        assert!(has_the_user(&Store::open(dir.path()).unwrap()));
    }
}
