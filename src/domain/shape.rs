//! Objects only. serde's derived structs also read a JSON array as their fields in order,
//! so `[]` would pass for an object with every field defaulted; input that is not an object
//! where one belongs is refused instead.

use serde::de::{DeserializeOwned, Error};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn from_object<T: DeserializeOwned, E: Error>(value: Value) -> Result<T, E> {
    if !value.is_object() {
        return Err(E::custom(format!("expected a JSON object, found {value}")));
    }
    serde_json::from_value(value).map_err(E::custom)
}

/// A struct field that must be a JSON object, or null (or absent, with `default`).
pub fn optional_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value => from_object(value).map(Some),
    }
}

/// A list whose items must be JSON objects.
pub fn objects<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Vec::<Value>::deserialize(deserializer)?
        .into_iter()
        .map(from_object)
        .collect()
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Inner {
        #[serde(default)]
        name: String,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Outer {
        #[serde(default, deserialize_with = "super::optional_object")]
        one: Option<Inner>,
        #[serde(default, deserialize_with = "super::objects")]
        many: Vec<Inner>,
    }

    #[test]
    fn arrays_do_not_pass_for_objects() {
        let ok: Outer = serde_json::from_str(r#"{"one": {"name": "a"}, "many": [{}]}"#).unwrap();
        assert_eq!(ok.one, Some(Inner { name: "a".into() }));
        assert_eq!(
            ok.many,
            [Inner {
                name: String::new()
            }]
        );
        assert!(
            serde_json::from_str::<Outer>(r#"{"one": null}"#)
                .unwrap()
                .one
                .is_none()
        );
        assert!(serde_json::from_str::<Outer>(r#"{"one": []}"#).is_err());
        assert!(serde_json::from_str::<Outer>(r#"{"many": [["a"]]}"#).is_err());
    }
}
