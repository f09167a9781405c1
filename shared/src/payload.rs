//! An authentic body as JSON, within a bound on what it may cost in memory.
//!
//! A parsed [`Value`] costs about a hundred bytes of heap per array element, member or number
//! (measured with `bench/memory.py`: a 1 MiB body of nested arrays peaked at 150 MiB in a 128 MB
//! function). Real deliveries hold a few hundred values at most (a photo is one long string),
//! so a body with more than [`MAX_JSON_VALUES`] is not parsed: it is stored as it came, as an
//! `unparsed` event keyed by its hash, which loses nothing and costs only its bytes. (A provider
//! that must read the body to accept it, FACEIO's app id, refuses such a body; at FACEIO's cap,
//! 64 KiB, no body holds that many values.)

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The most JSON values (scalars, arrays, objects, members' values) a body may hold to be parsed.
pub const MAX_JSON_VALUES: usize = 50_000;

/// `body` as JSON when it is JSON and holds at most [`MAX_JSON_VALUES`] values.
pub fn parse(body: &[u8]) -> Option<Value> {
    // Every value takes at least two bytes but the last (`1,`), so a shorter body cannot hold
    // too many and needs no count.
    if body.len() > 2 * MAX_JSON_VALUES && !within(body, MAX_JSON_VALUES) {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// Whether `body` is JSON of at most `limit` values; counts without allocating, and stops at
/// the first value over the limit.
fn within(body: &[u8], limit: usize) -> bool {
    let counted = Cell::new(0);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    Count {
        counted: &counted,
        limit,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end())
    .is_ok()
}

#[derive(Clone, Copy)]
struct Count<'a> {
    counted: &'a Cell<usize>,
    limit: usize,
}

impl Count<'_> {
    fn one<E: de::Error>(self) -> Result<(), E> {
        let counted = self.counted.get() + 1;
        self.counted.set(counted);
        if counted > self.limit {
            return Err(E::custom("too many values"));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Count<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.one()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.one()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.one()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.one()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.one()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.one()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.one()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    // Objects; and numbers, should they arrive as serde_json's `arbitrary_precision` one-member
    // map (they then count twice: on the safe side).
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.one()?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

/// Whether JSON `body` has an object with a key twice (`{"appId":"a","appId":"b"}`): a reader
/// that keeps the first value and one that keeps the last (`serde_json`, Python) read different
/// things, so the body is stored flagged `ambiguous_json` (and FACEIO refuses it). Keys compare
/// after unescaping (`"a"` and `"\u0061"` are one key). Stops at the first repeat.
pub fn has_repeated_keys(body: &[u8]) -> bool {
    let found = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let _ = Repeats { found: &found }.deserialize(&mut deserializer);
    found.get()
}

#[derive(Clone, Copy)]
struct Repeats<'a> {
    found: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Repeats<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Repeats<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !keys.insert(key) {
                self.found.set(true);
                return Err(de::Error::custom("repeated key"));
            }
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_found_at_any_depth_and_after_unescaping() {
        for body in [
            &br#"{"appId":"a","appId":"b"}"#[..],
            br#"{"x":[1,{"k":1,"j":2,"k":3}]}"#,
            br#"{"a":1,"a":2}"#,
            br#"[{"a":{"b":{"c":1,"c":1}}}]"#,
        ] {
            assert!(has_repeated_keys(body), "{}", String::from_utf8_lossy(body));
        }
        for body in [
            &br#"{"appId":"a","appid":"b"}"#[..],
            br#"{"a":{"a":{"a":1}}}"#,
            br#"[{"a":1},{"a":2}]"#,
            b"[1,2,2]",
            b"\"x\"",
            b"not json",
        ] {
            assert!(
                !has_repeated_keys(body),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    fn array_of(count: usize, item: &str) -> Vec<u8> {
        format!("[{}]", vec![item; count].join(",")).into_bytes()
    }

    #[test]
    fn a_body_of_up_to_the_limit_is_parsed() {
        // 1 array + 9 999 strings of 8 bytes: long enough to be counted.
        let body = array_of(MAX_JSON_VALUES - 1, r#""abcdef""#);
        assert!(body.len() > 2 * MAX_JSON_VALUES);
        let parsed = parse(&body).unwrap_or_default();
        assert_eq!(parsed.as_array().map(Vec::len), Some(MAX_JSON_VALUES - 1));
    }

    #[test]
    fn a_body_of_more_values_is_not() {
        assert!(parse(&array_of(MAX_JSON_VALUES, r#""abcdef""#)).is_none());
        assert!(parse(&array_of(MAX_JSON_VALUES, "true")).is_none());
        assert!(parse(&array_of(MAX_JSON_VALUES, "12345")).is_none());
        let members: Vec<String> = (0..MAX_JSON_VALUES)
            .map(|i| format!(r#""k{i}":null"#))
            .collect();
        assert!(parse(format!("{{{}}}", members.join(",")).as_bytes()).is_none());
        // 1 + 3 values per item.
        assert!(parse(&array_of(MAX_JSON_VALUES / 3 + 1, "[[[]]]")).is_none());
        assert!(parse(&array_of(MAX_JSON_VALUES / 3 - 1, "[[[]]]")).is_some());
    }

    #[test]
    fn counting_agrees_with_parsing_on_what_is_json() {
        for body in [
            &b"{\"a\": [1, 2, {\"b\": null}]}"[..],
            b"\"x\"",
            b"[] []",
            b"{\"a\":",
            b"",
        ] {
            let padded = [body, &vec![b' '; 2 * MAX_JSON_VALUES][..]].concat();
            assert_eq!(
                parse(&padded).is_some(),
                serde_json::from_slice::<Value>(body).is_ok(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
