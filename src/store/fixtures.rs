//! Directory entries the store's and service's unit tests write: numbered users.
#![allow(clippy::unwrap_used)]

use crate::domain::{Email, User};

/// `user<n>@example.com`, an employee.
pub(crate) fn user(n: usize) -> User {
    serde_json::from_value(serde_json::json!({
        "email": format!("user{n}@example.com"), "groups": ["employees"]
    }))
    .unwrap()
}

/// The email of [`user`] `n`.
pub(crate) fn email(n: usize) -> Email {
    Email::parse("email", &format!("user{n}@example.com")).unwrap()
}

/// Whether a reader of `store` sees [`user`] `n`.
pub(crate) fn visible(store: &crate::store::Store, n: usize) -> bool {
    use crate::store::Queries;
    store.read().unwrap().user(&email(n)).unwrap().is_some()
}
