//! The request decoders on random input: random bytes, random UTF-8 in every field of every
//! request body, and random JSON documents. Every outcome is a decoded body or a client error
//! (a malformed body or a field error, both 4xx), never a panic; each call reads its input
//! once, so its work is bounded by the 1 MiB body limit in front of it.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tickler_app::ErrorKind;
use tickler_app::decode::object_from_slice;
use tickler_protocol::auth::{
    CreateApiTokenRequest, LoginRequest, RegisterRequest, UpdateMeRequest,
};
use tickler_protocol::chat::ChatRequest;
use tickler_protocol::nl::{ParseRequest, QuickAddRequest};
use tickler_protocol::notification::{CreateChannelRequest, UpdateChannelRequest};
use tickler_protocol::reminder::SnoozeRequest;
use tickler_protocol::tag::RenameTagRequest;
use tickler_protocol::task::{TaskPatchDoc, TaskRequest};

/// Decodes `bytes` as `T`: fine, or a client error.
fn decodes_or_refuses<T: DeserializeOwned>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Err(error) = object_from_slice::<T>(bytes) {
        prop_assert!(
            matches!(error.kind(), ErrorKind::Invalid | ErrorKind::BadRequest),
            "{:?}",
            error
        );
    }
    Ok(())
}

/// Decodes `bytes` as every request body of the API.
fn every_decoder(bytes: &[u8]) -> Result<(), TestCaseError> {
    decodes_or_refuses::<TaskRequest>(bytes)?;
    decodes_or_refuses::<TaskPatchDoc>(bytes)?;
    decodes_or_refuses::<RegisterRequest>(bytes)?;
    decodes_or_refuses::<LoginRequest>(bytes)?;
    decodes_or_refuses::<UpdateMeRequest>(bytes)?;
    decodes_or_refuses::<CreateApiTokenRequest>(bytes)?;
    decodes_or_refuses::<ChatRequest>(bytes)?;
    decodes_or_refuses::<ParseRequest>(bytes)?;
    decodes_or_refuses::<QuickAddRequest>(bytes)?;
    decodes_or_refuses::<CreateChannelRequest>(bytes)?;
    decodes_or_refuses::<UpdateChannelRequest>(bytes)?;
    decodes_or_refuses::<SnoozeRequest>(bytes)?;
    decodes_or_refuses::<RenameTagRequest>(bytes)
}

/// The fields request bodies have.
const FIELDS: [&str; 22] = [
    "title",
    "description",
    "status",
    "priority",
    "due",
    "all_day",
    "timezone",
    "tags",
    "recurrence",
    "recurrence_mode",
    "reminders",
    "email",
    "password",
    "name",
    "scopes",
    "text",
    "message",
    "kind",
    "url",
    "address",
    "enabled",
    "minutes",
];

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    proptest::sample::select(FIELDS.to_vec()).prop_map(str::to_owned),
                    any::<String>()
                ],
                inner,
                0..6,
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_decoded_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        every_decoder(&bytes)?;
    }

    #[test]
    fn random_utf8_in_any_field_is_decoded_or_refused(
        fields in proptest::collection::vec((proptest::sample::select(FIELDS.to_vec()), any::<String>()), 0..6),
    ) {
        let body: serde_json::Map<String, Value> =
            fields.into_iter().map(|(name, text)| (name.to_owned(), json!(text))).collect();
        every_decoder(&serde_json::to_vec(&body).unwrap())?;
    }

    #[test]
    fn random_documents_are_decoded_or_refused(document in json_value()) {
        every_decoder(&serde_json::to_vec(&document).unwrap())?;
    }
}
