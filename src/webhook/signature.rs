//! Standard Webhooks signatures over `{id}.{timestamp}.{body}` in the
//! `webhook-signature` header: symmetric HMAC-SHA256 (`v1,<base64>`, `whsec_` secrets)
//! or asymmetric ed25519 (`v1a,<base64>`, `whsk_` keys, see [`super::asymmetric`]).

use std::sync::Arc;
use std::{fmt, str::FromStr};

use base64::{
    alphabet,
    engine::{general_purpose::STANDARD, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::asymmetric::{self, AsymmetricKey, InvalidKey};
use super::scheme::SigningScheme;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of a serialized secret, which makes it recognisable (and greppable) as one.
const SECRET_PREFIX: &str = "whsec_";

/// The spec asks for at least 24 random bytes and at most 64 (512 bits).
const KEY_LEN: std::ops::RangeInclusive<usize> = 24..=64;

/// How many bytes [`SigningSecret::generate`] draws: the spec's minimum, which keeps the
/// `whsec_` string short enough to paste while giving 192 bits.
const GENERATED_KEY_LEN: usize = 24;

/// Signature scheme identifier of HMAC-SHA256 signatures in the header.
const SCHEME: &str = "v1";

/// Decodes base64 with or without padding: secrets and signatures pasted by hand or
/// produced by other libraries sometimes lose their trailing `=`.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An endpoint's signing secret: `whsec_` + base64 of an HMAC key, or `whsk_` + base64
/// of an ed25519 key.
///
/// `Debug` shows only the prefix; [`SigningSecret::as_str`] is the one way to read it.
#[derive(Clone)]
pub struct SigningSecret {
    /// The canonical `whsec_…` or `whsk_…` form (padded base64).
    encoded: String,
    key: Key,
}

#[derive(Clone)]
enum Key {
    /// HMAC keyed once with the decoded bytes; cloned for each signature.
    Hmac(HmacSha256),
    /// ring's key pairs are not `Clone`; endpoints share one.
    Ed25519(Arc<AsymmetricKey>),
}

/// Why a string is not a usable signing secret. The secret itself is never included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSecret {
    /// The string starts with neither `whsec_` nor `whsk_`.
    #[error("signing secret must start with `whsec_` (HMAC) or `whsk_` (ed25519)")]
    MissingPrefix,
    /// A `whsk_` key that is not a valid ed25519 key.
    #[error(transparent)]
    Ed25519(#[from] InvalidKey),
    /// What follows `whsec_` is not base64.
    #[error("signing secret must be `whsec_` followed by base64 (standard alphabet)")]
    NotBase64,
    /// The decoded key is too short or too long.
    #[error("signing secret key must be 24 to 64 bytes, this one is {0} bytes")]
    KeyLength(usize),
}

impl SigningSecret {
    /// A new random secret of 24 bytes from the thread's CSPRNG.
    pub fn generate() -> Self {
        let key: [u8; GENERATED_KEY_LEN] = rand::random();
        // 24 bytes is within KEY_LEN, so this cannot fail.
        Self::from_key(&key).expect("a generated key has a valid length")
    }

    /// A new random ed25519 key.
    pub fn generate_ed25519() -> Self {
        Self::from_asymmetric(AsymmetricKey::generate())
    }

    /// A new random secret of `scheme`.
    pub fn generate_for(scheme: SigningScheme) -> Self {
        match scheme {
            SigningScheme::Hmac => Self::generate(),
            SigningScheme::Ed25519 => Self::generate_ed25519(),
        }
    }

    /// Parses the `whsec_<base64>` or `whsk_<base64>` form. Base64 padding is optional.
    pub fn parse(s: &str) -> Result<Self, InvalidSecret> {
        if let Some(encoded) = s.strip_prefix(asymmetric::SECRET_KEY_PREFIX) {
            let key = asymmetric::decode(encoded, &LENIENT_BASE64)?;
            return Ok(Self::from_asymmetric(AsymmetricKey::from_bytes(&key)?));
        }
        let encoded = s
            .strip_prefix(SECRET_PREFIX)
            .ok_or(InvalidSecret::MissingPrefix)?;
        let key = LENIENT_BASE64
            .decode(encoded)
            .map_err(|_| InvalidSecret::NotBase64)?;
        Self::from_key(&key)
    }

    /// The `whsec_…` or `whsk_…` form, as stored for signing. Always with base64
    /// padding, even if it was parsed without.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// Which scheme this secret signs with.
    pub fn scheme(&self) -> SigningScheme {
        match self.key {
            Key::Hmac(_) => SigningScheme::Hmac,
            Key::Ed25519(_) => SigningScheme::Ed25519,
        }
    }

    /// The `whpk_…` public key of an ed25519 secret; `None` for HMAC.
    pub fn public_key(&self) -> Option<&str> {
        match &self.key {
            Key::Hmac(_) => None,
            Key::Ed25519(key) => Some(key.public_key()),
        }
    }

    fn from_asymmetric(key: AsymmetricKey) -> Self {
        SigningSecret {
            encoded: key.as_str().to_owned(),
            key: Key::Ed25519(Arc::new(key)),
        }
    }

    fn from_key(key: &[u8]) -> Result<Self, InvalidSecret> {
        if !KEY_LEN.contains(&key.len()) {
            return Err(InvalidSecret::KeyLength(key.len()));
        }
        // HMAC accepts keys of any length, so this error is unreachable; it is mapped
        // rather than unwrapped because the function returns a Result anyway.
        let mac = <HmacSha256 as Mac>::new_from_slice(key)
            .map_err(|_| InvalidSecret::KeyLength(key.len()))?;
        Ok(SigningSecret {
            encoded: format!("{SECRET_PREFIX}{}", STANDARD.encode(key)),
            key: Key::Hmac(mac),
        })
    }
}

/// The HMAC fed with the signed content `{msg_id}.{timestamp}.{body}`.
fn mac_over(mac: &HmacSha256, msg_id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = mac.clone();
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signed content `{msg_id}.{timestamp}.{body}`, whole, for ed25519.
fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{msg_id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

/// What a signature must match, prepared once per verified request.
enum Expected {
    Hmac(HmacSha256),
    Ed25519(Arc<AsymmetricKey>, Vec<u8>),
}

impl Expected {
    fn new(key: &Key, msg_id: &str, timestamp: i64, body: &[u8]) -> Self {
        match key {
            Key::Hmac(mac) => Expected::Hmac(mac_over(mac, msg_id, timestamp, body)),
            Key::Ed25519(key) => {
                Expected::Ed25519(key.clone(), signed_content(msg_id, timestamp, body))
            }
        }
    }

    fn scheme(&self) -> &'static str {
        match self {
            Expected::Hmac(_) => SCHEME,
            Expected::Ed25519(..) => asymmetric::SCHEME,
        }
    }

    fn matches(&self, signature: &[u8]) -> bool {
        match self {
            Expected::Hmac(mac) => mac.clone().verify_slice(signature).is_ok(),
            Expected::Ed25519(key, content) => key.verifies(content, signature),
        }
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key {
            Key::Hmac(_) => f.write_str("SigningSecret(whsec_***)"),
            Key::Ed25519(_) => f.write_str("SigningSecret(whsk_***)"),
        }
    }
}

impl FromStr for SigningSecret {
    type Err = InvalidSecret;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Why a signature header did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The header is well formed but no `v1` signature in it matches: wrong secret, or the
    /// id, timestamp or body changed on the way.
    #[error("no signature in the webhook-signature header matches")]
    NoMatchingSignature,
    /// The timestamp is too far from now, in either direction: a replay, or a clock off.
    #[error("webhook-timestamp is outside the allowed tolerance")]
    TimestampOutOfTolerance,
    /// The header is empty or not a space-separated list of `<scheme>,<base64>` entries.
    #[error("webhook-signature header is malformed")]
    Malformed,
}

/// The `webhook-signature` value for one secret: `v1,<base64 HMAC-SHA256>` for a
/// `whsec_` secret, `v1a,<base64 ed25519 signature>` for a `whsk_` key.
///
/// `msg_id` is the `webhook-id` header and `timestamp` the `webhook-timestamp` header (unix
/// seconds of this attempt); `body` must be the exact bytes sent. The spec requires that
/// `msg_id` contains no `.`, which holds for trackwire's event ids.
pub fn sign(secret: &SigningSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    match &secret.key {
        Key::Hmac(mac) => {
            let tag = mac_over(mac, msg_id, timestamp, body)
                .finalize()
                .into_bytes();
            format!("{SCHEME},{}", STANDARD.encode(tag))
        }
        Key::Ed25519(key) => {
            let signature = key.sign(&signed_content(msg_id, timestamp, body));
            format!("{},{signature}", asymmetric::SCHEME)
        }
    }
}

/// The `webhook-signature` value for every secret in `secrets` (current and, during a key
/// rotation, previous), separated by single spaces. Receivers accept the request when any
/// one of them verifies. An empty slice gives an empty header, which no receiver accepts.
pub fn signature_header(
    secrets: &[SigningSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| sign(secret, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a received request: `timestamp` within `tolerance_secs` of `now` (both unix
/// seconds), then any signature in `header` of the secret's scheme matching id, timestamp
/// and `body`: a `v1` HMAC (compared in constant time) for a `whsec_` secret, a `v1a`
/// ed25519 signature for a `whsk_` key.
///
/// Entries of other schemes are skipped, as the spec asks.
pub fn verify(
    secret: &SigningSecret,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    // Checked first, like the reference libraries: a stale request is refused before any
    // cryptography is spent on it. `unsigned_abs` and `checked_sub` keep extreme values
    // from overflowing into "in tolerance".
    let skew = now.checked_sub(timestamp).map(i64::unsigned_abs);
    let tolerance = tolerance_secs.max(0).unsigned_abs();
    if skew.is_none_or(|skew| skew > tolerance) {
        return Err(VerifyError::TimestampOutOfTolerance);
    }

    // Only entries of the secret's own scheme can match.
    let expected = Expected::new(&secret.key, msg_id, timestamp, body);
    let mut malformed = false;
    let mut entries = 0;
    for entry in header.split_whitespace() {
        entries += 1;
        let Some((scheme, encoded)) = entry.split_once(',') else {
            malformed = true;
            continue;
        };
        if scheme != expected.scheme() {
            continue;
        }
        let Ok(signature) = LENIENT_BASE64.decode(encoded) else {
            malformed = true;
            continue;
        };
        if expected.matches(&signature) {
            return Ok(());
        }
    }
    if malformed || entries == 0 {
        Err(VerifyError::Malformed)
    } else {
        Err(VerifyError::NoMatchingSignature)
    }
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
