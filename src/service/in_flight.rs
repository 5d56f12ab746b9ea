//! Keys with work in flight: one piece of work per key at a time (a grant's jobs, an
//! issue's deliveries), whoever takes the next due item.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

/// The keys taken now.
#[derive(Debug)]
pub(super) struct InFlight<K>(Mutex<HashSet<K>>);

impl<K> Default for InFlight<K> {
    fn default() -> Self {
        Self(Mutex::new(HashSet::new()))
    }
}

/// A key taken until dropped.
pub(super) struct Claim<K: Eq + Hash> {
    in_flight: Arc<InFlight<K>>,
    key: K,
}

impl<K: Eq + Hash + Clone> InFlight<K> {
    /// Takes `key`, unless it is taken.
    pub(super) fn claim(self: &Arc<Self>, key: &K) -> Option<Claim<K>> {
        let mut taken = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        taken.insert(key.clone()).then(|| Claim {
            in_flight: Arc::clone(self),
            key: key.clone(),
        })
    }
}

impl<K: Eq + Hash> Drop for Claim<K> {
    fn drop(&mut self) {
        let mut taken = self
            .in_flight
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        taken.remove(&self.key);
    }
}
