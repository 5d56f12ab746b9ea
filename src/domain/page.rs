//! Pages of list calls: their size, and the cursor where the next one starts.

use super::{DomainError, formats};

/// Where a page starts: just after the position of the previous page's last item in the
/// index the listing walks. Clients take it from the `next` link and hand it back as
/// `after`; they need not read it. Any text in [`formats::CURSOR`] is a position, so a
/// made-up cursor lists from somewhere, never fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    /// Parses a cursor handed back as `after`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let raw = formats::CURSOR.check(field, raw, "must be the `after` of a `next` link")?;
        Ok(Self(raw.to_owned()))
    }

    /// The cursor at the key made of `parts`.
    pub fn at(parts: &[&str]) -> Self {
        Self(parts.join("|"))
    }

    /// Part `i` of the key, empty when it has fewer.
    pub fn part(&self, i: usize) -> &str {
        self.0.split('|').nth(i).unwrap_or_default()
    }

    /// The cursor as text, for the next link.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What page a listing call asked for: its size and where it starts.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// At most this many items.
    pub limit: usize,
    /// Just after this position.
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// Parses `limit` (`default` when absent, refused outside `1..=max`) and `after`.
    pub fn parse(
        limit: Option<usize>,
        after: Option<&str>,
        default: usize,
        max: usize,
    ) -> Result<Self, DomainError> {
        Ok(Self {
            limit: page_limit(limit, default, max)?,
            after: after.map(|a| Cursor::parse("after", a)).transpose()?,
        })
    }
}

/// One page of a listing: its items, and where the next starts when there may be more.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// The same page with each item made into another.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }

    /// A page of `items` from a walk asked for `limit`, with `next` at `last` when it is full.
    pub fn of(items: Vec<T>, limit: usize, last: Option<Cursor>) -> Self {
        let next = last.filter(|_| items.len() >= limit);
        Self { items, next }
    }
}

/// The page size a list call asked for: `default` when it did not say, refused (not
/// clamped) outside `1..=max`, so a caller never gets a page it did not ask for.
pub fn page_limit(raw: Option<usize>, default: usize, max: usize) -> Result<usize, DomainError> {
    match raw {
        None => Ok(default.min(max)),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(DomainError::new(
            "limit",
            format!("must be between 1 and {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::page_limit;

    #[test]
    fn a_limit_outside_its_bounds_is_refused() {
        assert_eq!(page_limit(None, 100, 500), Ok(100));
        assert_eq!(page_limit(Some(500), 100, 500), Ok(500));
        assert!(page_limit(Some(0), 100, 500).is_err());
        assert!(page_limit(Some(501), 100, 500).is_err());
    }
}
