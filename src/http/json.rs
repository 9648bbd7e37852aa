//! `Json<T>`, the request body as `T` (a drop-in for `web::Json<T>`), and
//! `JsonOrEmpty<T>` for bodies whose every field is optional. Size, content
//! type and syntax are checked by actix's JSON extractor (`extract::json_config`);
//! a body that is JSON but not a `T` is explained at the field it fails on:
//! a wrong type, a wrong value or a missing field is `422 validation_failed`
//! naming it (`party_size`, `repeat.until`, `scans[2].ticket`), an unknown
//! field `400 invalid_body` naming it. The parser's own text quotes the
//! client's values (a phone number sent as a number…), so it goes nowhere:
//! neither into the answer nor into the log.
//!
//! `T` is first read with serde_json exactly as `web::Json` would; only a
//! failure is read again through `Node`, a `Deserializer` over the parsed value
//! whose error type records what serde's derive asked for (the missing field's
//! name, the type a field wanted), with `serde_path_to_error` tracking where.

use std::fmt::Display;
use std::ops::{Deref, DerefMut};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::value::{MapAccessDeserializer, MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde_json::Value;

use crate::error::{ApiError, Invalid, JsonType};

/// The JSON body as `T`; see the module documentation for its refusals.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let web::Json(value) = value.await?;
            // Every body is an object: serde would also read a struct from an
            // array of its fields in order (`[null, null]`), which no client means.
            if value.is_array() {
                return Err(
                    ApiError::InvalidBody("an array where an object belongs".into()).into(),
                );
            }
            Ok(Json(parse(value)?))
        })
    }
}

/// A body whose fields are all optional: no body at all, an empty one
/// (whatever its content type) or `null` is `T::default()`; anything else is
/// read as `Json<T>`.
#[derive(Debug)]
pub struct JsonOrEmpty<T>(pub T);

impl<T> JsonOrEmpty<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for JsonOrEmpty<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if has_no_body(req) {
            return Box::pin(async { Ok(JsonOrEmpty(T::default())) });
        }
        let body = Json::<Option<T>>::from_request(req, payload);
        Box::pin(async move { Ok(JsonOrEmpty(body.await?.0.unwrap_or_default())) })
    }
}

/// `Content-Length: 0`, or neither a length nor a chunked body.
fn has_no_body(req: &HttpRequest) -> bool {
    let headers = req.headers();
    match headers.get(header::CONTENT_LENGTH) {
        Some(length) => length.as_bytes() == b"0",
        None => !headers.contains_key(header::TRANSFER_ENCODING),
    }
}

/// `value` as `T`, or the refusal that names the field at fault.
pub fn parse<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    match T::deserialize(&value) {
        Ok(parsed) => Ok(parsed),
        Err(_) => Err(explain::<T>(value)),
    }
}

/// Why `value` is not a `T`, at which field.
fn explain<T: DeserializeOwned>(value: Value) -> ApiError {
    let err = match serde_path_to_error::deserialize::<_, T>(Node(value)) {
        Ok(_) => return ApiError::InvalidBody("serde_json refused what Node accepted".into()),
        Err(err) => err,
    };
    let mut path = String::new();
    for segment in err.path().iter() {
        match segment {
            serde_path_to_error::Segment::Map { key } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            serde_path_to_error::Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    let invalid = match err.into_inner() {
        Mismatch::Missing(field) => {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(field);
            Invalid::Required
        }
        Mismatch::UnknownField => Invalid::UnknownField,
        Mismatch::NotA(kind) => Invalid::NotA(kind),
        Mismatch::OneOf(values) => Invalid::OneOf(values),
        Mismatch::NotAccepted => Invalid::NotAccepted,
    };
    if path.is_empty() {
        // The body as a whole is not an object: there is no field to name.
        return ApiError::InvalidBody("the body is not a JSON object".into());
    }
    if path.chars().count() > MAX_PATH {
        path = path.chars().take(MAX_PATH).chain("…".chars()).collect();
    }
    ApiError::BodyField { path, invalid }
}

/// A field path longer than this (only an unknown field can be) is cut short.
const MAX_PATH: usize = 100;

/// What serde's derive (or a field's own `Deserialize`) refused, without the
/// values: the one thing an error type of our own can record.
#[derive(Debug)]
enum Mismatch {
    Missing(&'static str),
    UnknownField,
    NotA(JsonType),
    OneOf(&'static [&'static str]),
    NotAccepted,
}

impl Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Mismatch {}

impl de::Error for Mismatch {
    /// A field's own check failed (a time that does not parse…).
    fn custom<M: Display>(_msg: M) -> Self {
        Mismatch::NotAccepted
    }
    fn missing_field(field: &'static str) -> Self {
        Mismatch::Missing(field)
    }
    fn unknown_field(_field: &str, _expected: &'static [&'static str]) -> Self {
        Mismatch::UnknownField
    }
    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        Mismatch::OneOf(expected)
    }
}

/// A parsed JSON value read as a `T` the way serde_json reads one, except that
/// each typed request checks the JSON type first, so a mismatch says which
/// type was wanted.
struct Node(Value);

impl<'de> IntoDeserializer<'de, Mismatch> for Node {
    type Deserializer = Node;
    fn into_deserializer(self) -> Node {
        self
    }
}

fn visit<'de, V: Visitor<'de>>(value: Value, visitor: V) -> Result<V::Value, Mismatch> {
    match value {
        Value::Null => visitor.visit_unit(),
        Value::Bool(b) => visitor.visit_bool(b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                visitor.visit_u64(u)
            } else if let Some(i) = n.as_i64() {
                visitor.visit_i64(i)
            } else {
                visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => visitor.visit_string(s),
        Value::Array(items) => {
            let mut seq = SeqDeserializer::new(items.into_iter().map(Node));
            let out = visitor.visit_seq(&mut seq)?;
            seq.end()?;
            Ok(out)
        }
        Value::Object(map) => {
            let mut map = MapDeserializer::new(map.into_iter().map(|(k, v)| (k, Node(v))));
            let out = visitor.visit_map(&mut map)?;
            map.end()?;
            Ok(out)
        }
    }
}

/// Forwards each integer request: the visitor checks the range.
macro_rules! integers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
            match self.0 {
                Value::Number(n) if n.is_u64() || n.is_i64() => visit(Value::Number(n), visitor),
                _ => Err(Mismatch::NotA(JsonType::Integer)),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Node {
    type Error = Mismatch;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        visit(self.0, visitor)
    }

    integers!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::Number(n) => visit(Value::Number(n), visitor),
            _ => Err(Mismatch::NotA(JsonType::Number)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::Bool(b) => visitor.visit_bool(b),
            _ => Err(Mismatch::NotA(JsonType::Boolean)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::String(s) => visitor.visit_string(s),
            _ => Err(Mismatch::NotA(JsonType::Text)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Node(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::Array(items) => visit(Value::Array(items), visitor),
            _ => Err(Mismatch::NotA(JsonType::List)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::Object(map) => visit(Value::Object(map), visitor),
            _ => Err(Mismatch::NotA(JsonType::Object)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            Value::Object(map) if map.len() == 1 => visitor.visit_enum(MapAccessDeserializer::new(
                MapDeserializer::new(map.into_iter().map(|(k, v)| (k, Node(v)))),
            )),
            _ => Err(Mismatch::NotA(JsonType::Text)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bytes byte_buf unit unit_struct identifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::locale::Locale;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the refusals are looked at")]
    struct Body {
        phone: String,
        party_size: Option<u32>,
        repeat: Option<Repeat>,
        scans: Option<Vec<Scan>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the refusals are looked at")]
    struct Repeat {
        until: String,
    }

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "only the refusals are looked at")]
    struct Scan {
        ticket: Option<String>,
        scanned_at: chrono::DateTime<chrono::Utc>,
    }

    fn refusal(body: &str) -> (serde_json::Value, String) {
        let value: Value = serde_json::from_str(body).expect("test JSON");
        let err = parse::<Body>(value).expect_err("refused");
        let logged = format!("{err} {err:?}");
        let problem = serde_json::to_value(err.problem(Locale::En)).expect("serializes");
        (problem, logged)
    }

    #[test]
    fn a_wrong_type_names_the_field_and_never_the_value() {
        let (problem, logged) = refusal(r#"{"phone": 13912345678}"#);
        assert_eq!(problem["status"], 422);
        assert_eq!(
            problem["errors"],
            serde_json::json!([{"field": "phone", "message": "must be text (a JSON string)"}])
        );
        assert!(!problem.to_string().contains("13912345678"));
        assert!(!logged.contains("13912345678"), "{logged}");
    }

    #[test]
    fn missing_and_nested_fields_are_named_by_their_path() {
        let (problem, _) = refusal(r#"{"party_size": 2}"#);
        assert_eq!(problem["errors"][0]["field"], "phone");
        assert_eq!(problem["errors"][0]["message"], "is required");
        let (problem, _) = refusal(r#"{"phone": "1", "repeat": {}}"#);
        assert_eq!(problem["errors"][0]["field"], "repeat.until");
        let (problem, _) = refusal(r#"{"phone": "1", "party_size": "two"}"#);
        assert_eq!(problem["errors"][0]["field"], "party_size");
        assert_eq!(problem["errors"][0]["message"], "must be a whole number");
        let (problem, logged) = refusal(
            r#"{"phone": "1", "scans": [{"scanned_at": "2026-01-01T00:00:00Z"}, {"scanned_at": "yesterday"}]}"#,
        );
        assert_eq!(problem["errors"][0]["field"], "scans[1].scanned_at");
        assert_eq!(problem["status"], 422);
        assert!(!logged.contains("yesterday"));
    }

    #[test]
    fn an_unknown_field_or_a_non_object_is_a_400() {
        let (problem, _) = refusal(r#"{"phone": "1", "extra": 1}"#);
        assert_eq!(problem["status"], 400);
        assert_eq!(problem["errors"][0]["field"], "extra");
        let (problem, _) = refusal("[]");
        assert_eq!(problem["status"], 400);
        assert!(problem.get("errors").is_none());
    }

    #[test]
    fn a_number_too_large_for_its_field_is_not_accepted() {
        let (problem, _) = refusal(r#"{"phone": "1", "party_size": 99999999999}"#);
        assert_eq!(problem["errors"][0]["field"], "party_size");
        assert_eq!(problem["errors"][0]["message"], "is not an accepted value");
        let (problem, _) = refusal(r#"{"phone": "1", "party_size": 1.5}"#);
        assert_eq!(problem["errors"][0]["message"], "must be a whole number");
    }
}
