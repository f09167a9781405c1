//! The HTTP shapes a function sees, and the response it returns in the same shape.
//!
//! Lambda gets an HTTP request in one of four JSON shapes, told apart by their fields:
//!
//! | front door | method in | headers | answer |
//! |---|---|---|---|
//! | HTTP API (payload 2.0), Function URL | `requestContext.http.method` | `headers` (repeats joined with `,`) | `statusCode`, `headers`, `body`, `isBase64Encoded`, `cookies` |
//! | REST API (payload 1.0) | `httpMethod` | `headers` and `multiValueHeaders` | `statusCode`, `headers`, `body`, `isBase64Encoded` |
//! | ALB | `httpMethod`, `requestContext.elb` | `headers` | the same and `statusDescription` |
//! | ALB, multi-value headers on | `httpMethod`, `requestContext.elb` | `multiValueHeaders` only | `multiValueHeaders` instead of `headers` |
//!
//! Only the fields the pipeline reads are modelled, so the body stays exactly as it arrived and
//! a bad `isBase64Encoded` body is ours to answer (`400`, not a panic). README "Event shapes"
//! says why this is not `lambda_http`.

use std::collections::HashMap;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Serialize, Serializer};

/// A Lambda HTTP request event of any of the four shapes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    /// Header names to values. HTTP API: lower case, repeats joined with `,`. REST API and ALB:
    /// as sent, the last value of a repeated header.
    #[serde(default, deserialize_with = "nullable")]
    pub headers: HashMap<String, String>,
    /// Every value of every header (REST API always; ALB when multi-value headers are on).
    #[serde(default)]
    pub multi_value_headers: Option<HashMap<String, Vec<String>>>,
    /// The body, base64 when `is_base64_encoded`.
    #[serde(default)]
    pub body: Option<String>,
    /// Whether `body` is base64.
    #[serde(default, deserialize_with = "nullable")]
    pub is_base64_encoded: bool,
    /// The path of a payload 2.0 event (an HTTP API or Function URL), as sent.
    #[serde(default)]
    pub raw_path: Option<String>,
    /// The path of a REST API or ALB event.
    #[serde(default)]
    pub path: Option<String>,
    /// The method of a REST API or ALB event (absent in payload 2.0).
    #[serde(default)]
    pub http_method: Option<String>,
    /// The payload version: `2.0` for an HTTP API or Function URL, `1.0` for a REST API when
    /// present (ALB sends none).
    #[serde(default)]
    pub version: Option<String>,
    /// Method, source IP, request id.
    #[serde(default, deserialize_with = "nullable")]
    pub request_context: RequestContext,
}

/// The part of `requestContext` the pipeline reads.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    /// API Gateway's request id (unique per delivery; ALB has none).
    #[serde(default)]
    pub request_id: Option<String>,
    /// Method and caller (payload 2.0).
    #[serde(default, deserialize_with = "nullable")]
    pub http: HttpDescription,
    /// The caller (REST API).
    #[serde(default, deserialize_with = "nullable")]
    pub identity: Identity,
    /// Present in (and only in) an ALB event.
    #[serde(default)]
    pub elb: Option<serde::de::IgnoredAny>,
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

/// `requestContext.identity` of a REST API event.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
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

/// Which front door an event came through, which decides the response's shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shape {
    /// API Gateway HTTP API (payload 2.0) or a Lambda Function URL.
    #[default]
    HttpApi,
    /// API Gateway REST API (payload 1.0).
    RestApi,
    /// Application Load Balancer, single-value headers.
    Alb,
    /// Application Load Balancer with multi-value headers on.
    AlbMultiValue,
}

impl HttpRequest {
    /// The front door this event came through. An HTTP API event is told by its
    /// `requestContext.http` (or `version` 2.0), not by the absence of `httpMethod`: `cargo lambda
    /// watch` sends 2.0 events that also carry a top-level `httpMethod` of `GET`.
    pub fn shape(&self) -> Shape {
        let http_api =
            self.version.as_deref() == Some("2.0") || !self.request_context.http.method.is_empty();
        match (
            self.request_context.elb.is_some(),
            self.multi_value_headers.is_some(),
            http_api || self.http_method.is_none(),
        ) {
            (true, true, _) => Shape::AlbMultiValue,
            (true, false, _) => Shape::Alb,
            (false, _, false) => Shape::RestApi,
            (false, _, true) => Shape::HttpApi,
        }
    }

    /// The method, where this event's front door puts it; an unknown or empty one is not `POST`.
    pub fn method(&self) -> Method {
        let method = match self.shape() {
            Shape::HttpApi => self.request_context.http.method.as_str(),
            Shape::RestApi | Shape::Alb | Shape::AlbMultiValue => {
                self.http_method.as_deref().unwrap_or_default()
            }
        };
        Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET)
    }

    /// The request's path (`/webhooks/faceio/staging`): `rawPath`, else `path`, else `/`.
    pub fn path(&self) -> &str {
        self.raw_path
            .as_deref()
            .or(self.path.as_deref())
            .unwrap_or("/")
    }

    /// The caller's IP: API Gateway's view of it; behind an ALB, the address the load balancer
    /// appended to `X-Forwarded-For` (the last one: earlier ones are the caller's say-so).
    pub fn source_ip(&mut self) -> Option<String> {
        let context = &mut self.request_context;
        context
            .http
            .source_ip
            .take()
            .or_else(|| context.identity.source_ip.take())
            .or_else(|| {
                let forwarded = self.header_map();
                let last = forwarded.get_all("x-forwarded-for").iter().next_back()?;
                let ip = last.to_str().ok()?.rsplit(',').next()?.trim();
                (!ip.is_empty()).then(|| ip.to_owned())
            })
    }

    /// Headers as an [`HeaderMap`], every value of a repeated header kept (in `multiValueHeaders`
    /// when the event has them); a name or value that HTTP cannot carry is left out.
    pub fn header_map(&self) -> HeaderMap {
        let Some(multi) = &self.multi_value_headers else {
            return header_map(&self.headers);
        };
        let mut map = header_map(
            multi
                .iter()
                .flat_map(|(name, values)| values.iter().map(move |value| (name, value))),
        );
        // A header only in `headers` (not expected, but kept rather than lost).
        for (name, value) in header_map(&self.headers) {
            if let Some(name) = name {
                if !map.contains_key(&name) {
                    map.insert(name, value);
                }
            }
        }
        map
    }
}

/// A front door, as `webhooks send --emit-event` writes a delivery through it (the sample events
/// under `events/<provider>/<name>.json`, for `sam local invoke -e` and `cargo lambda invoke`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontDoor {
    /// API Gateway HTTP API, payload 2.0 (what template.yaml builds).
    HttpApiV2,
    /// A Lambda Function URL.
    FunctionUrl,
    /// API Gateway REST API, payload 1.0.
    RestApiV1,
    /// An Application Load Balancer target group.
    Alb,
    /// An Application Load Balancer target group with multi-value headers on.
    AlbMultiValue,
}

impl FrontDoor {
    /// Every front door.
    pub const ALL: [Self; 5] = [
        Self::HttpApiV2,
        Self::FunctionUrl,
        Self::RestApiV1,
        Self::Alb,
        Self::AlbMultiValue,
    ];

    /// Its name on the command line and in `events/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::HttpApiV2 => "http-api-v2",
            Self::FunctionUrl => "function-url",
            Self::RestApiV1 => "rest-api-v1",
            Self::Alb => "alb",
            Self::AlbMultiValue => "alb-multi-value",
        }
    }

    /// The front door called `name`.
    pub fn find(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|door| door.name() == name)
    }

    /// The shape its events have and its answers take.
    pub fn shape(self) -> Shape {
        match self {
            Self::HttpApiV2 | Self::FunctionUrl => Shape::HttpApi,
            Self::RestApiV1 => Shape::RestApi,
            Self::Alb => Shape::Alb,
            Self::AlbMultiValue => Shape::AlbMultiValue,
        }
    }

    /// The event this front door hands Lambda for a `POST` of `body` (text when UTF-8, else
    /// base64) with `headers` to `path`, at `now_ms`. Every front door adds an `X-Amzn-Trace-Id`
    /// whose root carries the time (`1-<unix seconds, hex>-<24 hex>`).
    pub fn event(
        self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        request_id: &str,
        now_ms: i64,
    ) -> serde_json::Value {
        use base64::Engine as _;
        use serde_json::json;

        let trace_id: String = request_id
            .chars()
            .filter(char::is_ascii_hexdigit)
            .chain(std::iter::repeat('0'))
            .take(24)
            .collect();
        let trace = format!("Root=1-{:08x}-{trace_id}", now_ms.div_euclid(1000));
        let lower = self != Self::RestApiV1;
        let mut names = serde_json::Map::new();
        let mut multi = serde_json::Map::new();
        let added = [
            ("Content-Type", "application/json"),
            ("X-Amzn-Trace-Id", trace.as_str()),
        ];
        for &(name, value) in headers.iter().chain(&added) {
            let name = if lower {
                name.to_ascii_lowercase()
            } else {
                name.to_owned()
            };
            multi.insert(name.clone(), json!([value]));
            names.insert(name, json!(value));
        }
        let (body, base64) = match std::str::from_utf8(body) {
            Ok(text) => (text.to_owned(), false),
            Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
        };
        let mut event = match self {
            Self::HttpApiV2 => http_api_event(&format!("POST {path}"), "local.execute-api", path),
            Self::FunctionUrl => http_api_event("$default", "local.lambda-url", path),
            Self::RestApiV1 => rest_api_event(path),
            Self::Alb | Self::AlbMultiValue => json!({
                "requestContext": {
                    "elb": {
                        "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/webhooks/0123456789abcdef"
                    }
                },
                "httpMethod": "POST",
                "path": path,
            }),
        };
        let context = &mut event["requestContext"];
        if self != Self::Alb && self != Self::AlbMultiValue {
            context["requestId"] = json!(request_id);
        }
        match self {
            Self::HttpApiV2 | Self::FunctionUrl => context["timeEpoch"] = json!(now_ms),
            Self::RestApiV1 => context["requestTimeEpoch"] = json!(now_ms),
            Self::Alb | Self::AlbMultiValue => {}
        }
        match self {
            Self::RestApiV1 => {
                event["headers"] = names.into();
                event["multiValueHeaders"] = multi.into();
            }
            Self::AlbMultiValue => {
                event["multiValueQueryStringParameters"] = json!({});
                event["multiValueHeaders"] = multi.into();
            }
            Self::Alb => {
                event["queryStringParameters"] = json!({});
                event["headers"] = names.into();
            }
            Self::HttpApiV2 | Self::FunctionUrl => event["headers"] = names.into(),
        }
        event["body"] = json!(body);
        event["isBase64Encoded"] = json!(base64);
        event
    }
}

/// An HTTP API / Function URL event without headers, body, request id and time.
fn http_api_event(route: &str, domain_prefix: &str, raw_path: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": raw_path,
        "rawQueryString": "",
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": format!("{domain_prefix}.us-east-1.amazonaws.com"),
            "domainPrefix": domain_prefix.split('.').next().unwrap_or_default(),
            "http": {
                "method": "POST",
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "webhooks-cli"
            },
            "routeKey": route,
            "stage": "$default"
        }
    })
}

/// A REST API event without headers, body, request id and time.
fn rest_api_event(path: &str) -> serde_json::Value {
    serde_json::json!({
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "resourcePath": path,
            "httpMethod": "POST",
            "path": format!("/Prod{path}"),
            "protocol": "HTTP/1.1",
            "stage": "Prod",
            "identity": { "sourceIp": "127.0.0.1", "userAgent": "webhooks-cli" }
        }
    })
}

/// The time an event's `X-Amzn-Trace-Id` root names, unix seconds (see [`FrontDoor::event`]).
pub fn trace_time(headers: &HeaderMap) -> Option<i64> {
    let trace = headers.get("x-amzn-trace-id")?.to_str().ok()?;
    let root = trace
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root=1-"))?;
    i64::from_str_radix(root.split('-').next()?, 16).ok()
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

/// A small JSON response, serialised in the shape of the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status.
    pub status_code: u16,
    /// A small JSON document (`content-type: application/json`).
    pub body: String,
    /// The shape to answer in.
    pub shape: Shape,
}

impl HttpResponse {
    /// A JSON response (in the HTTP API shape until [`HttpResponse::in_shape`]).
    pub fn json(status_code: u16, body: &serde_json::Value) -> Self {
        Self {
            status_code,
            body: body.to_string(),
            shape: Shape::HttpApi,
        }
    }

    /// `{"error": reason}` with `status_code`.
    pub fn error(status_code: u16, reason: &str) -> Self {
        Self::json(status_code, &serde_json::json!({ "error": reason }))
    }

    /// The same response, to be answered in `shape`.
    #[must_use]
    pub fn in_shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }
}

const CONTENT_TYPE: (&str, &str) = ("content-type", "application/json");

impl Serialize for HttpResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("statusCode", &self.status_code)?;
        if matches!(self.shape, Shape::Alb | Shape::AlbMultiValue) {
            let status = StatusCode::from_u16(self.status_code).ok();
            let reason = status.and_then(|status| status.canonical_reason());
            let description = match reason {
                Some(reason) => format!("{} {reason}", self.status_code),
                None => self.status_code.to_string(),
            };
            map.serialize_entry("statusDescription", &description)?;
        }
        let (name, value) = CONTENT_TYPE;
        if self.shape == Shape::AlbMultiValue {
            map.serialize_entry("multiValueHeaders", &HashMap::from([(name, [value])]))?;
        } else {
            map.serialize_entry("headers", &HashMap::from([(name, value)]))?;
        }
        map.serialize_entry("body", &self.body)?;
        map.serialize_entry("isBase64Encoded", &false)?;
        if self.shape == Shape::HttpApi {
            // Part of the 2.0 response; `cargo lambda watch` needs it present.
            map.serialize_entry("cookies", &[] as &[&str])?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{LAMBDA_EVENT_TEMPLATES, assert_response_shape, lambda_event_template};

    #[test]
    fn every_public_event_is_read_as_its_front_door_sent_it() {
        for &(file, shape) in LAMBDA_EVENT_TEMPLATES {
            let raw = lambda_event_template(file);
            let request: HttpRequest = serde_json::from_value(raw.clone()).unwrap_or_default();
            assert_eq!(request.shape(), shape, "{file}");
            let method = raw["httpMethod"]
                .as_str()
                .or_else(|| raw["requestContext"]["http"]["method"].as_str())
                .unwrap_or_default();
            assert_eq!(request.method().as_str(), method, "{file}");
            // Every header the event names can be read, whatever the case of its name.
            let headers = request.header_map();
            let names = raw["multiValueHeaders"]
                .as_object()
                .or_else(|| raw["headers"].as_object())
                .map(|names| names.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            for name in names {
                assert!(
                    headers.contains_key(name.to_ascii_lowercase().as_str()),
                    "{file}: {name}"
                );
            }
        }
    }

    #[test]
    fn repeated_headers_keep_every_value() {
        let raw = lambda_event_template("alb_multi_value_request.json");
        let request: HttpRequest = serde_json::from_value(raw).unwrap_or_default();
        let cookies: Vec<_> = request
            .header_map()
            .get_all("cookie")
            .iter()
            .cloned()
            .collect();
        assert_eq!(cookies, ["name1=value1", "name2=value2"]);
    }

    #[test]
    fn the_source_ip_comes_from_the_front_door() {
        let ip = |file: &str| {
            let mut request: HttpRequest =
                serde_json::from_value(lambda_event_template(file)).unwrap_or_default();
            request.source_ip()
        };
        assert_eq!(ip("apigw_v2_proxy_request.json").as_deref(), Some("IP"));
        assert_eq!(
            ip("example-apigw-request.json").as_deref(),
            Some("192.168.196.186")
        );
        // The load balancer appends the address it saw; earlier ones are the caller's say-so.
        let mut request = HttpRequest {
            headers: HashMap::from([("x-forwarded-for".into(), "10.9.9.9, 198.51.100.4".into())]),
            ..HttpRequest::default()
        };
        assert_eq!(request.source_ip().as_deref(), Some("198.51.100.4"));
    }

    #[test]
    fn answers_in_the_shape_of_the_request() {
        let response = HttpResponse::error(413, "body_too_large");
        for &(_, shape) in LAMBDA_EVENT_TEMPLATES {
            assert_response_shape(&response.clone().in_shape(shape), shape);
        }
        let alb = serde_json::to_value(response.clone().in_shape(Shape::AlbMultiValue))
            .unwrap_or_default();
        assert_eq!(alb["statusDescription"], "413 Payload Too Large");
        assert_eq!(
            alb["multiValueHeaders"]["content-type"][0],
            "application/json"
        );
        let rest = serde_json::to_value(response.in_shape(Shape::RestApi)).unwrap_or_default();
        assert_eq!(rest["headers"]["content-type"], "application/json");
        assert_eq!(rest["body"], r#"{"error":"body_too_large"}"#);
    }

    #[test]
    fn every_front_door_event_reads_back_as_sent() {
        for door in FrontDoor::ALL {
            assert_eq!(FrontDoor::find(door.name()), Some(door));
            for body in [&b"{\"a\":1}"[..], &[0xff, 0x00, 0x7b][..]] {
                let event = door.event(
                    "/webhooks/x",
                    &[("Alocity-Signature", "t:1,sig:abc")],
                    body,
                    "5f0e4b1c-1111-2222-3333-444455556666",
                    1_795_511_521_123,
                );
                let mut request: HttpRequest = serde_json::from_value(event).unwrap_or_default();
                assert_eq!(request.shape(), door.shape(), "{door:?}");
                assert_eq!(request.method(), Method::POST, "{door:?}");
                let headers = request.header_map();
                assert_eq!(headers["alocity-signature"], "t:1,sig:abc", "{door:?}");
                assert_eq!(
                    headers.get_all("content-type").iter().count(),
                    1,
                    "{door:?}"
                );
                assert_eq!(trace_time(&headers), Some(1_795_511_521), "{door:?}");
                let raw = request.body.take().unwrap_or_default();
                let decoded = if request.is_base64_encoded {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD
                        .decode(raw)
                        .unwrap_or_default()
                } else {
                    raw.into_bytes()
                };
                assert_eq!(decoded, body, "{door:?}");
                assert_eq!(request.is_base64_encoded, body[0] == 0xff, "{door:?}");
            }
        }
    }

    #[test]
    fn a_cargo_lambda_watch_event_is_an_http_api_event() {
        // `cargo lambda watch` serialises a 2.0 request with a top-level `httpMethod` of `GET`
        // whatever the method was.
        let event = serde_json::json!({
            "version": "2.0",
            "httpMethod": "GET",
            "requestContext": {"http": {"method": "POST"}},
            "headers": {},
            "body": "{}",
            "isBase64Encoded": false
        });
        let request: HttpRequest = serde_json::from_value(event).unwrap_or_default();
        assert_eq!(
            (request.shape(), request.method()),
            (Shape::HttpApi, Method::POST)
        );
        let mut without_version = request;
        without_version.version = None;
        assert_eq!(without_version.shape(), Shape::HttpApi);
        assert_eq!(without_version.method(), Method::POST);
    }
}
