//! DynamoDB attribute values and JSON, both ways: how a parsed payload is stored as native
//! types, and how a stored item is shown as plain JSON. Nothing here knows the events table.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use serde_json::{Map, Value};

/// One item, attribute name to value.
pub type Item = HashMap<String, AttributeValue>;

/// DynamoDB allows 32 levels of nesting; deeper JSON is not converted.
const MAX_DEPTH: usize = 30;

/// JSON as native DynamoDB types (maps, lists, numbers, strings), readable in the console and
/// usable in filter expressions; `None` when nested deeper than DynamoDB allows or when an object
/// has an empty key (DynamoDB refuses an empty attribute name, even inside a map).
pub fn json_to_attribute(value: &Value, depth: usize) -> Option<AttributeValue> {
    Some(match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(flag) => AttributeValue::Bool(*flag),
        Value::Number(number) => number_attribute(number),
        Value::String(text) => AttributeValue::S(text.clone()),
        Value::Array(items) => {
            if depth > MAX_DEPTH {
                return None;
            }
            AttributeValue::L(
                items
                    .iter()
                    .map(|item| json_to_attribute(item, depth + 1))
                    .collect::<Option<_>>()?,
            )
        }
        Value::Object(fields) => {
            if depth > MAX_DEPTH {
                return None;
            }
            AttributeValue::M(
                fields
                    .iter()
                    .map(|(key, item)| {
                        if key.is_empty() {
                            return None;
                        }
                        Some((key.clone(), json_to_attribute(item, depth + 1)?))
                    })
                    .collect::<Option<_>>()?,
            )
        }
    })
}

/// A number DynamoDB can hold (at most 38 significant digits, magnitude 1e-130 to 1e126) as
/// `N`; anything else as its text, so an exotic number never makes the whole item invalid.
fn number_attribute(number: &serde_json::Number) -> AttributeValue {
    let text = number.to_string();
    let mantissa = text
        .split(['e', 'E'])
        .next()
        .unwrap_or_default()
        .trim_start_matches('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    let magnitude = number.as_f64().map_or(f64::INFINITY, f64::abs);
    // Zero is zero by its digits: `1e-400` reads as 0.0 in an f64 but is no zero to DynamoDB,
    // which refuses it (and with it the whole item).
    let representable =
        significant <= 38 && (significant == 0 || (1e-129..1e125).contains(&magnitude));
    if representable {
        AttributeValue::N(text)
    } else {
        AttributeValue::S(text)
    }
}

/// An attribute as JSON: maps and lists recursively, numbers as JSON numbers (any precision),
/// binary values as standard base64 text, sets as arrays.
pub fn attribute_to_json(value: &AttributeValue) -> Value {
    let base64 =
        |bytes: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
    match value {
        AttributeValue::S(text) => Value::String(text.clone()),
        AttributeValue::N(number) => number_to_json(number),
        AttributeValue::Bool(flag) => Value::Bool(*flag),
        AttributeValue::B(blob) => base64(blob.as_ref()),
        AttributeValue::M(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, item)| (key.clone(), attribute_to_json(item)))
                .collect(),
        ),
        AttributeValue::L(items) => Value::Array(items.iter().map(attribute_to_json).collect()),
        AttributeValue::Ss(texts) => {
            Value::Array(texts.iter().cloned().map(Value::String).collect())
        }
        AttributeValue::Ns(numbers) => Value::Array(
            numbers
                .iter()
                .map(|number| number_to_json(number))
                .collect(),
        ),
        AttributeValue::Bs(blobs) => {
            Value::Array(blobs.iter().map(|blob| base64(blob.as_ref())).collect())
        }
        // `Null(true)`, and any type a newer SDK adds.
        _ => Value::Null,
    }
}

/// A DynamoDB number as a JSON number, or as its text when JSON cannot hold it.
fn number_to_json(number: &str) -> Value {
    serde_json::from_str::<serde_json::Number>(number)
        .map_or_else(|_| Value::String(number.to_owned()), Value::Number)
}

/// A whole item as a JSON object (keys in name order).
pub fn item_to_json(item: &Item) -> Value {
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    Value::Object(
        names
            .into_iter()
            .map(|name| (name.clone(), attribute_to_json(&item[name])))
            .collect::<Map<String, Value>>(),
    )
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::primitives::Blob;

    use super::*;

    #[test]
    fn too_deep_or_out_of_range_json_is_never_sent_as_an_invalid_attribute() {
        let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
        let value: Value = serde_json::from_str(&deep).unwrap();
        assert_eq!(json_to_attribute(&value, 1), None);
        for empty_key in [r#"{"": 1}"#, r#"{"a": [{"b": {"": null}}]}"#] {
            let value: Value = serde_json::from_str(empty_key).unwrap();
            assert_eq!(json_to_attribute(&value, 1), None, "{empty_key}");
        }
        assert!(json_to_attribute(&serde_json::json!({"a": ""}), 1).is_some());
        let numbers: Value = serde_json::from_str(
            "[1e300, 1e-200, 42, 0.0, 123456789012345678901234567890, \
             1234567890123456789012345678901234567890, -98765432109876543210, 2.5e-7, \
             1e-400, -2.5E-999, 0e7]",
        )
        .unwrap();
        let list = json_to_attribute(&numbers, 1).unwrap();
        let kinds: Vec<_> = list
            .as_l()
            .unwrap()
            .iter()
            .map(|value| match value {
                AttributeValue::N(text) => format!("N {text}"),
                AttributeValue::S(text) => format!("S {text}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "S 1e+300",
                "S 1e-200",
                "N 42",
                "N 0.0",
                "N 123456789012345678901234567890",
                "S 1234567890123456789012345678901234567890",
                "N -98765432109876543210",
                "N 2.5e-7",
                "S 1e-400",
                "S -2.5e-999",
                "N 0e+7",
            ]
        );
    }

    #[test]
    fn attributes_round_trip_to_json() {
        let json = serde_json::json!({
            "a": [1, 2.5, {"b": null, "c": true}],
            "big": 123_456_789_012_345_678_u64,
            "s": "text"
        });
        let attribute = json_to_attribute(&json, 1).unwrap();
        assert_eq!(attribute_to_json(&attribute), json);
    }

    #[test]
    fn binary_and_set_attributes_become_base64_and_arrays() {
        let item: Item = HashMap::from([
            (
                "body".to_owned(),
                AttributeValue::B(Blob::new(vec![0xff, 0x00])),
            ),
            (
                "n".to_owned(),
                AttributeValue::N("123456789012345678901234567890.5".into()),
            ),
            ("ss".to_owned(), AttributeValue::Ss(vec!["x".into()])),
            ("pk".to_owned(), AttributeValue::S("p#k".into())),
        ]);
        let json = item_to_json(&item);
        assert_eq!(json["body"], "/wA=");
        assert_eq!(json["ss"], serde_json::json!(["x"]));
        assert_eq!(json["n"].to_string(), "123456789012345678901234567890.5");
        assert_eq!(json["pk"], "p#k");
        let names: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(names, ["body", "n", "pk", "ss"]);
    }
}
