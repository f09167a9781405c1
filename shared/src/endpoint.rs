//! Endpoints: several webhooks of one provider served by one function, each with its own secret
//! and its own provider settings (`POST /webhooks/<provider>/<endpoint>`). `/webhooks/<provider>`
//! is the endpoint [`DEFAULT`], configured as before (`WEBHOOK_SECRET_ID` and the provider's
//! variables).
//!
//! Here: names and routes (a leaf module). How endpoints are configured:
//! [`crate::config::Endpoints`].

/// The endpoint of `/webhooks/<provider>`, always there.
pub const DEFAULT: &str = "default";

/// The longest endpoint name.
pub const MAX_NAME_BYTES: usize = 32;

/// Checks an endpoint name: 1 to [`MAX_NAME_BYTES`] of `a-z`, `0-9` and `-`, beginning and ending
/// with a letter or digit (it is part of URLs, secret names, table keys and metric dimensions).
///
/// # Errors
/// What is wrong with it.
pub fn check_name(name: &str) -> Result<(), String> {
    let allowed = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-';
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_NAME_BYTES {
        return Err(format!(
            "endpoint name {name:?} must be 1 to {MAX_NAME_BYTES} characters"
        ));
    }
    if !bytes.iter().all(|&c| allowed(c)) || bytes[0] == b'-' || bytes[bytes.len() - 1] == b'-' {
        return Err(format!(
            "endpoint name {name:?} may only use a-z, 0-9 and - (not first or last)"
        ));
    }
    Ok(())
}

/// The path of an endpoint's URL: `/webhooks/<provider>` for [`DEFAULT`],
/// `/webhooks/<provider>/<endpoint>` for any other (what template.yaml routes, and what
/// [`in_path`] reads back).
pub fn route(provider: &str, endpoint: &str) -> String {
    if endpoint == DEFAULT {
        format!("/webhooks/{provider}")
    } else {
        format!("/webhooks/{provider}/{endpoint}")
    }
}

/// The endpoint a request path names: what follows the `<provider>` segment
/// (`/webhooks/faceio/staging` → `staging`); [`DEFAULT`] when nothing follows it or the path has
/// no such segment (a Function URL's `/`). More than one segment after it is returned whole, and
/// so names no endpoint.
pub fn in_path<'a>(path: &'a str, provider: &str) -> &'a str {
    let path = path.trim_end_matches('/');
    let mut from = None;
    let mut offset = 0;
    for segment in path.split('/') {
        offset += segment.len() + 1;
        if segment == provider {
            from = Some(offset);
        }
    }
    match from {
        Some(start) if start < path.len() => &path[start..],
        _ => DEFAULT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_names_the_endpoint_after_the_provider() {
        for (path, endpoint) in [
            ("/webhooks/faceio", DEFAULT),
            ("/webhooks/faceio/", DEFAULT),
            ("/webhooks/faceio/staging", "staging"),
            ("/webhooks/faceio/staging/", "staging"),
            ("/prod/webhooks/faceio/eu-1", "eu-1"),
            ("/webhooks/faceio/default", DEFAULT),
            ("/webhooks/faceio/a/b", "a/b"),
            ("/", DEFAULT),
            ("", DEFAULT),
            ("/my/path", DEFAULT),
            ("/webhooks/faceios/x", DEFAULT),
            ("/faceio/faceio/x", "x"),
        ] {
            assert_eq!(in_path(path, "faceio"), endpoint, "{path}");
        }
    }

    #[test]
    fn a_route_names_its_endpoint() {
        for endpoint in [DEFAULT, "staging", "eu-1"] {
            assert_eq!(in_path(&route("amani", endpoint), "amani"), endpoint);
        }
        assert_eq!(route("amani", DEFAULT), "/webhooks/amani");
        assert_eq!(route("amani", "eu-1"), "/webhooks/amani/eu-1");
    }

    #[test]
    fn names_are_short_lower_case_and_dashed_inside() {
        for good in ["a", "staging", "eu-1", "0", &"x".repeat(MAX_NAME_BYTES)] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "Staging",
            "a b",
            "a/b",
            "a_b",
            "é",
            &"x".repeat(MAX_NAME_BYTES + 1),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
