//! Directory and catalog facts kept in memory between decisions.
//!
//! Every entry is tagged with the store's directory generation it was read under; the store
//! bumps the generation after any commit that writes users, groups or tools, so an entry is
//! used only while nothing it was derived from can have changed. Decisions then read only the
//! contended facts from redb, and their cost does not grow with the size of the directory.

use crate::domain::{Email, ToolFacts, ToolId, UserFacts};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};

/// Entries per map before it is emptied and refilled: bounds memory (about 40 MiB of user
/// facts) whatever the size of the directory.
const MAX_ENTRIES: usize = 131_072;

/// Facts of users and catalog tools, each valid for one directory generation.
#[derive(Debug, Default)]
pub(super) struct FactsCache {
    users: Tagged<Email, UserFacts>,
    tools: Tagged<ToolId, ToolFacts>,
}

#[derive(Debug)]
struct Tagged<K, V>(RwLock<HashMap<K, (u64, V)>>);

impl<K, V> Default for Tagged<K, V> {
    fn default() -> Self {
        Self(RwLock::new(HashMap::new()))
    }
}

impl<K: Hash + Eq, V: Clone> Tagged<K, V> {
    fn get(&self, key: &K, generation: u64) -> Option<V> {
        let map = self.0.read().unwrap_or_else(PoisonError::into_inner);
        map.get(key)
            .filter(|(tag, _)| *tag == generation)
            .map(|(_, value)| value.clone())
    }

    fn get_or_load<E>(
        &self,
        key: &K,
        generation: u64,
        load: impl FnOnce() -> Result<V, E>,
        keep: impl FnOnce(&V) -> bool,
    ) -> Result<V, E>
    where
        K: Clone,
    {
        if let Some(value) = self.get(key, generation) {
            return Ok(value);
        }
        let value = load()?;
        if keep(&value) {
            self.put(key.clone(), generation, value.clone());
        }
        Ok(value)
    }

    fn put(&self, key: K, generation: u64, value: V) {
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        // A reader that began on an older snapshot must not replace a newer entry.
        match map.get(&key) {
            Some((tag, _)) if *tag > generation => {}
            _ => {
                map.insert(key, (generation, value));
            }
        }
    }
}

impl FactsCache {
    /// A user's facts as of `generation`: cached, or loaded with `load` and remembered.
    pub fn user<E>(
        &self,
        email: &Email,
        generation: u64,
        load: impl FnOnce() -> Result<UserFacts, E>,
    ) -> Result<UserFacts, E> {
        self.users.get_or_load(email, generation, load, |_| true)
    }

    /// A tool's facts as of `generation`: cached, or loaded with `load` and remembered when
    /// the tool is in the catalog (unknown tools are never cached, so input cannot fill it).
    pub fn tool<E>(
        &self,
        id: &ToolId,
        generation: u64,
        load: impl FnOnce() -> Result<ToolFacts, E>,
    ) -> Result<ToolFacts, E> {
        self.tools
            .get_or_load(id, generation, load, |tool| tool.in_catalog)
    }
}
