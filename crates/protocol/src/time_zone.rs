//! The OpenAPI schema of a time zone field: the IANA names the server knows.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// A field holding an IANA time zone name (`Europe/Berlin`), documented with every name the
/// server accepts. Used as `#[schema(value_type = ...)]`; the field itself stays a string.
#[derive(Debug)]
pub struct TimeZoneName;

impl PartialSchema for TimeZoneName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An IANA time zone of the tz database the server was built with (any letter case is accepted too)",
            ))
            .enum_values(Some(tickler_domain::TimeZone::names()))
            .into()
    }
}

impl ToSchema for TimeZoneName {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("TimeZone")
    }
}
