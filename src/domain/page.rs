//! Page sizes of list calls.

use super::DomainError;

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
