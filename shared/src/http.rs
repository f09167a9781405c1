//! The HTTP shapes a function sees: an API Gateway HTTP API (payload 2.0) or Lambda Function URL
//! request, and the response it returns. Only the fields the pipeline reads are modelled, so
//! the body stays exactly as it arrived and a bad `isBase64Encoded` body is ours to answer.

use std::collections::HashMap;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};

/// An API Gateway v2 / Function URL request event.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    /// Header names (lower case) to values; repeated headers arrive joined with `,`.
    #[serde(default, deserialize_with = "nullable")]
    pub headers: HashMap<String, String>,
    /// The body, base64 when `is_base64_encoded`.
    #[serde(default)]
    pub body: Option<String>,
    /// Whether `body` is base64.
    #[serde(default)]
    pub is_base64_encoded: bool,
    /// Method, source IP, request id.
    #[serde(default)]
    pub request_context: RequestContext,
}

/// The part of `requestContext` the pipeline reads.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    /// API Gateway's request id (unique per delivery).
    #[serde(default)]
    pub request_id: Option<String>,
    /// Method and caller.
    #[serde(default)]
    pub http: HttpDescription,
}

/// `requestContext.http`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpDescription {
    /// The HTTP method.
    #[serde(default)]
    pub method: String,
    /// The caller's IP as API Gateway saw it.
    #[serde(default)]
    pub source_ip: Option<String>,
}

fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl HttpRequest {
    /// The method; an unknown or empty one is not `POST`.
    pub fn method(&self) -> Method {
        Method::from_bytes(self.request_context.http.method.as_bytes()).unwrap_or(Method::GET)
    }

    /// Headers as an [`HeaderMap`]; a name or value that HTTP cannot carry is left out.
    pub fn header_map(&self) -> HeaderMap {
        header_map(&self.headers)
    }
}

/// Name/value pairs as an [`HeaderMap`] (the request's headers, or those a quarantined delivery
/// kept); a name or value that HTTP cannot carry is left out.
pub fn header_map<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> HeaderMap {
    let pairs = pairs.into_iter();
    let mut map = HeaderMap::with_capacity(pairs.size_hint().0);
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// A response in the API Gateway v2 / Function URL format.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    /// HTTP status.
    pub status_code: u16,
    /// Always `content-type: application/json`.
    pub headers: HashMap<&'static str, &'static str>,
    /// A small JSON document.
    pub body: String,
    /// Always false: the body is text.
    pub is_base64_encoded: bool,
    /// Always empty. Part of the v2 response shape; `cargo lambda watch` needs it present.
    pub cookies: Vec<String>,
}

impl HttpResponse {
    /// A JSON response.
    pub fn json(status_code: u16, body: &serde_json::Value) -> Self {
        Self {
            status_code,
            headers: HashMap::from([("content-type", "application/json")]),
            body: body.to_string(),
            is_base64_encoded: false,
            cookies: Vec::new(),
        }
    }

    /// `{"error": reason}` with `status_code`.
    pub fn error(status_code: u16, reason: &str) -> Self {
        Self::json(status_code, &serde_json::json!({ "error": reason }))
    }
}
