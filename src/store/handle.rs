//! A table kept open by a write transaction, lent out to one user at a time: for reading
//! ([`Reading`], through [`ReadableTable`]) or for writing ([`Handle`]), never both at once.
//!
//! Writes record each change in the transaction's redo log. A transaction that defers its
//! writes (see [`super::WriteView::deferring`]) only records them: they reach the table
//! when it is next lent for reading, or after the commit is answered.

use super::StoreError;
use super::redo::Redo;
use redb::{
    AccessGuard, Key, Range, ReadableTable, ReadableTableMetadata, Table, TableStats, Value,
};
use std::borrow::Borrow;
use std::cell::{RefCell, RefMut};
use std::ops::RangeBounds;

/// A borrowed open table of a write transaction, for writing.
pub struct Handle<'a, 'txn, K: Key + 'static, V: Value + 'static> {
    pub(super) table: RefMut<'a, Table<'txn, K, V>>,
    pub(super) name: &'static str,
    pub(super) redo: &'a RefCell<Redo>,
    /// Where the transaction notes which tables have writes not made yet, when it defers
    /// them.
    pub(super) deferred: Option<&'a RefCell<Deferred>>,
}

/// The tables with recorded writes not made yet, each with where in the redo log its first
/// such write is.
#[derive(Debug, Default)]
pub(super) struct Deferred {
    since: Vec<(&'static str, usize)>,
}

impl Deferred {
    /// Notes that `table` has a write not made yet at `offset` of the redo log.
    pub(super) fn note(&mut self, table: &'static str, offset: usize) {
        if !self.since.iter().any(|(t, _)| *t == table) {
            self.since.push((table, offset));
        }
    }

    /// Where `table`'s writes not made yet begin, forgetting them: the caller makes them.
    pub fn take(&mut self, table: &str) -> Option<usize> {
        let i = self.since.iter().position(|(t, _)| *t == table)?;
        Some(self.since.swap_remove(i).1)
    }

    /// The tables with writes not made yet.
    #[cfg(test)]
    pub fn tables(&self) -> Vec<&'static str> {
        self.since.iter().map(|(t, _)| *t).collect()
    }

    /// Where the first write not made yet is in the redo log, if there is one.
    pub fn first(&self) -> Option<usize> {
        self.since.iter().map(|(_, at)| *at).min()
    }

    /// Whether the write to `table` at `offset` of the redo log is not made yet.
    pub fn covers(&self, table: &str, offset: usize) -> bool {
        self.since
            .iter()
            .any(|(t, since)| *t == table && offset >= *since)
    }
}

impl<K: Key + 'static, V: Value + 'static> Handle<'_, '_, K, V> {
    /// Sets `key` to `value`.
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<(), StoreError> {
        let (key, value) = (key.borrow(), value.borrow());
        let deferred = self.record(|redo, name| {
            redo.insert(name, K::as_bytes(key).as_ref(), V::as_bytes(value).as_ref())
        });
        if !deferred {
            self.table.insert(key, value)?;
        }
        Ok(())
    }

    /// Removes `key`, if present.
    pub fn remove<'k>(&mut self, key: impl Borrow<K::SelfType<'k>>) -> Result<(), StoreError> {
        let key = key.borrow();
        let deferred = self.record(|redo, name| redo.remove(name, K::as_bytes(key).as_ref()));
        if !deferred {
            self.table.remove(key)?;
        }
        Ok(())
    }

    /// Records a change in the redo log; true when writes are deferred (and the log
    /// records), after noting the change as not made yet.
    fn record(&self, change: impl FnOnce(&mut Redo, &'static str)) -> bool {
        let mut redo = self.redo.borrow_mut();
        let offset = redo.len();
        change(&mut redo, self.name);
        match (self.deferred, offset) {
            (Some(deferred), Some(offset)) => {
                deferred.borrow_mut().note(self.name, offset);
                true
            }
            _ => false,
        }
    }

    /// Removes every entry in `range`. The redo log cannot express this, so the
    /// transaction will commit durably instead of through the journal, and its writes are
    /// made at once.
    pub fn remove_range<'k, KR>(
        &mut self,
        range: impl RangeBounds<KR> + 'k,
    ) -> Result<(), StoreError>
    where
        KR: Borrow<K::SelfType<'k>> + 'k,
    {
        if let Some(deferred) = self.deferred {
            let since = deferred.borrow_mut().take(self.name);
            make_deferred_in(&mut self.table, self.name, &self.redo.borrow(), since)?;
        }
        self.redo.borrow_mut().incomplete();
        self.table.retain_in(range, |_, _| false)?;
        Ok(())
    }
}

/// Makes the writes to `table` (named `name`) recorded in `redo` from `since` on.
pub(super) fn make_deferred_in<K: Key + 'static, V: Value + 'static>(
    table: &mut Table<'_, K, V>,
    name: &str,
    redo: &Redo,
    since: Option<usize>,
) -> Result<(), StoreError> {
    let Some(since) = since else {
        return Ok(());
    };
    for op in redo.ops_from(since) {
        let (_, op) = op?;
        if op.table != name {
            continue;
        }
        let key = K::from_bytes(op.key);
        match op.value {
            Some(value) => table.insert(key, V::from_bytes(value))?,
            None => table.remove(key)?,
        };
    }
    Ok(())
}

/// A borrowed open table of a write transaction, for reading: it holds every write made
/// to it so far.
pub struct Reading<'a, 'txn, K: Key + 'static, V: Value + 'static> {
    pub(super) table: RefMut<'a, Table<'txn, K, V>>,
}

impl<K: Key + 'static, V: Value + 'static> ReadableTableMetadata for Reading<'_, '_, K, V> {
    fn stats(&self) -> redb::Result<TableStats> {
        self.table.stats()
    }

    fn len(&self) -> redb::Result<u64> {
        self.table.len()
    }
}

impl<K: Key + 'static, V: Value + 'static> ReadableTable<K, V> for Reading<'_, '_, K, V> {
    fn get<'a>(
        &self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> redb::Result<Option<AccessGuard<'_, V>>> {
        self.table.get(key)
    }

    fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> redb::Result<Range<'_, K, V>>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        self.table.range(range)
    }

    fn first(&self) -> redb::Result<Option<(AccessGuard<'_, K>, AccessGuard<'_, V>)>> {
        self.table.first()
    }

    fn last(&self) -> redb::Result<Option<(AccessGuard<'_, K>, AccessGuard<'_, V>)>> {
        self.table.last()
    }
}
