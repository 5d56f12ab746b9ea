//! Whole numbers in JSON bodies. JSON has one number type, and JSON Schema counts `30.0` as
//! the integer 30; JSM's smart values render number fields that way. So a whole number is
//! taken in either spelling, and a fraction is refused.

use serde::{Deserialize, Deserializer, de};

/// Reads a whole number written as `30` or `30.0`.
pub fn whole<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    match serde_json::Number::deserialize(deserializer)? {
        n if n.is_i64() => n
            .as_i64()
            .ok_or_else(|| de::Error::custom("not a whole number")),
        n => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            // Exact: a whole f64 below 2^53 converts without loss.
            .map(|f| f as i64)
            .ok_or_else(|| de::Error::custom(format!("expected a whole number, found {n}"))),
    }
}

/// [`whole`] for a field that may be absent or null.
pub fn optional_whole<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole")] i64);
    Ok(Option::<Whole>::deserialize(deserializer)?.map(|Whole(n)| n))
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Days {
        #[serde(deserialize_with = "super::whole")]
        days: i64,
        #[serde(default, deserialize_with = "super::optional_whole")]
        more: Option<i64>,
    }

    fn days(json: &str) -> Result<(i64, Option<i64>), serde_json::Error> {
        serde_json::from_str::<Days>(json).map(|d| (d.days, d.more))
    }

    #[test]
    fn whole_numbers_are_taken_in_either_spelling_and_fractions_refused() {
        assert_eq!(days(r#"{"days": 30}"#).unwrap(), (30, None));
        assert_eq!(
            days(r#"{"days": 30.0, "more": 2.0}"#).unwrap(),
            (30, Some(2))
        );
        assert_eq!(days(r#"{"days": -3, "more": null}"#).unwrap(), (-3, None));
        assert!(days(r#"{"days": 30.5}"#).is_err());
        assert!(days(r#"{"days": "30"}"#).is_err());
        assert!(days(r#"{"days": 1e300}"#).is_err());
    }
}
