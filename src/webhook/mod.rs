//! What goes on the wire besides the body: Standard Webhooks headers and signatures.
//!
//! A request carries `webhook-id` (the event id, the same on every retry so partners can
//! deduplicate), `webhook-timestamp` (unix seconds of this attempt), `webhook-signature`
//! (see [`signature_header`]), `content-type: application/json`, and the event type and
//! schema version in [`EVENT_TYPE_HEADER`] and [`SCHEMA_VERSION_HEADER`].

mod asymmetric;
mod scheme;
mod signature;

pub use asymmetric::{InvalidKey, PUBLIC_KEY_PREFIX, SECRET_KEY_PREFIX};
pub use scheme::{SigningScheme, UnknownScheme};
pub use signature::{sign, signature_header, verify, InvalidSecret, SigningSecret, VerifyError};

/// Header carrying the event id; stable across retries and replays.
pub const WEBHOOK_ID: &str = "webhook-id";

/// Header carrying the unix time (seconds) of this attempt; part of the signed content.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";

/// Header carrying the space-separated `v1,<base64>` (HMAC) or `v1a,<base64>` (ed25519)
/// signatures.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// Header carrying the event type, e.g. `out_for_delivery`, so receivers can route
/// before parsing the body.
pub const EVENT_TYPE_HEADER: &str = "webhook-event-type";

/// Header carrying the payload's schema version, e.g. `v1`.
pub const SCHEMA_VERSION_HEADER: &str = "webhook-schema-version";

/// `content-type` of every webhook body.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// How far `webhook-timestamp` may be from the receiver's clock, in seconds: the five
/// minutes the Standard Webhooks reference libraries use.
pub const DEFAULT_TOLERANCE_SECS: i64 = 5 * 60;
