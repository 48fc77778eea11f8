//! Standard Webhooks symmetric signatures: HMAC-SHA256 over `{id}.{timestamp}.{body}`,
//! sent as `v1,<base64>` in the `webhook-signature` header.

use std::{fmt, str::FromStr};

use base64::{
    alphabet,
    engine::{general_purpose::STANDARD, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

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

/// An endpoint's signing secret, `whsec_` + base64 of the key bytes.
///
/// `Debug` shows only `whsec_***`; [`SigningSecret::as_str`] is the one way to read it.
#[derive(Clone)]
pub struct SigningSecret {
    /// The canonical `whsec_…` form (padded base64).
    encoded: String,
    /// HMAC keyed once with the decoded bytes; cloned for each signature.
    mac: HmacSha256,
}

/// Why a string is not a usable signing secret. The secret itself is never included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSecret {
    /// The string does not start with `whsec_`.
    #[error("signing secret must start with `whsec_`")]
    MissingPrefix,
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

    /// Parses the `whsec_<base64>` form. Base64 padding is optional.
    pub fn parse(s: &str) -> Result<Self, InvalidSecret> {
        let encoded = s
            .strip_prefix(SECRET_PREFIX)
            .ok_or(InvalidSecret::MissingPrefix)?;
        let key = LENIENT_BASE64
            .decode(encoded)
            .map_err(|_| InvalidSecret::NotBase64)?;
        Self::from_key(&key)
    }

    /// The `whsec_…` form, as shown to the partner once and stored for signing. Always
    /// with base64 padding, even if it was parsed without.
    pub fn as_str(&self) -> &str {
        &self.encoded
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
            mac,
        })
    }

    /// The HMAC fed with the signed content `{msg_id}.{timestamp}.{body}`.
    fn mac_over(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(whsec_***)")
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

/// The `webhook-signature` value for one secret: `v1,<base64 HMAC-SHA256>`.
///
/// `msg_id` is the `webhook-id` header and `timestamp` the `webhook-timestamp` header (unix
/// seconds of this attempt); `body` must be the exact bytes sent. The spec requires that
/// `msg_id` contains no `.`, which holds for trackwire's event ids.
pub fn sign(secret: &SigningSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = secret
        .mac_over(msg_id, timestamp, body)
        .finalize()
        .into_bytes();
    format!("{SCHEME},{}", STANDARD.encode(tag))
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
/// seconds), then any `v1` signature in `header` matching the HMAC of id, timestamp and
/// `body` under `secret`. Signatures are compared in constant time.
///
/// Entries of other schemes (such as the asymmetric `v1a`) are skipped, as the spec asks.
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

    let expected = secret.mac_over(msg_id, timestamp, body);
    let mut malformed = false;
    let mut entries = 0;
    for entry in header.split_whitespace() {
        entries += 1;
        let Some((scheme, encoded)) = entry.split_once(',') else {
            malformed = true;
            continue;
        };
        if scheme != SCHEME {
            continue;
        }
        let Ok(signature) = LENIENT_BASE64.decode(encoded) else {
            malformed = true;
            continue;
        };
        if expected.clone().verify_slice(&signature).is_ok() {
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
mod tests {
    use super::*;

    // The reference vector published with the Standard Webhooks specification.
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TIMESTAMP: i64 = 1_614_265_330;
    const VECTOR_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    const TOLERANCE: i64 = 300;

    fn vector_secret() -> SigningSecret {
        SigningSecret::parse(VECTOR_SECRET).unwrap()
    }

    fn verify_vector(body: &[u8], header: &str, now: i64) -> Result<(), VerifyError> {
        verify(
            &vector_secret(),
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            body,
            header,
            now,
            TOLERANCE,
        )
    }

    #[test]
    fn a_signature_matches_the_standard_webhooks_test_vector() {
        let signature = sign(&vector_secret(), VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY);
        assert_eq!(signature, VECTOR_SIGNATURE);
    }

    #[test]
    fn verify_accepts_the_test_vector() {
        assert_eq!(
            verify_vector(VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TIMESTAMP),
            Ok(())
        );
    }

    #[test]
    fn verify_rejects_a_tampered_body() {
        let tampered = br#"{"test": 2432232315}"#;
        assert_eq!(
            verify_vector(tampered, VECTOR_SIGNATURE, VECTOR_TIMESTAMP),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn verify_rejects_a_changed_id_or_timestamp() {
        let secret = vector_secret();
        let header = VECTOR_SIGNATURE;
        let now = VECTOR_TIMESTAMP;
        let other_id = verify(
            &secret,
            "msg_other",
            now,
            VECTOR_BODY,
            header,
            now,
            TOLERANCE,
        );
        assert_eq!(other_id, Err(VerifyError::NoMatchingSignature));
        let other_ts = verify(
            &secret,
            VECTOR_ID,
            now + 1,
            VECTOR_BODY,
            header,
            now,
            TOLERANCE,
        );
        assert_eq!(other_ts, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn verify_rejects_an_old_timestamp_and_one_from_the_future() {
        let too_late = VECTOR_TIMESTAMP + TOLERANCE + 1;
        assert_eq!(
            verify_vector(VECTOR_BODY, VECTOR_SIGNATURE, too_late),
            Err(VerifyError::TimestampOutOfTolerance)
        );
        let too_early = VECTOR_TIMESTAMP - TOLERANCE - 1;
        assert_eq!(
            verify_vector(VECTOR_BODY, VECTOR_SIGNATURE, too_early),
            Err(VerifyError::TimestampOutOfTolerance)
        );
        let at_the_edge = VECTOR_TIMESTAMP + TOLERANCE;
        assert_eq!(
            verify_vector(VECTOR_BODY, VECTOR_SIGNATURE, at_the_edge),
            Ok(())
        );
    }

    #[test]
    fn extreme_timestamps_do_not_overflow_into_tolerance() {
        let secret = vector_secret();
        let header = VECTOR_SIGNATURE;
        let result = verify(
            &secret,
            VECTOR_ID,
            i64::MIN,
            VECTOR_BODY,
            header,
            i64::MAX,
            300,
        );
        assert_eq!(result, Err(VerifyError::TimestampOutOfTolerance));
    }

    #[test]
    fn verify_rejects_a_wrong_secret() {
        let other = SigningSecret::generate();
        let result = verify(
            &other,
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            VECTOR_BODY,
            VECTOR_SIGNATURE,
            VECTOR_TIMESTAMP,
            TOLERANCE,
        );
        assert_eq!(result, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn verify_reports_a_malformed_header() {
        for header in ["", "   ", "v1", "g0hM9SsE", "v1,not base64!"] {
            assert_eq!(
                verify_vector(VECTOR_BODY, header, VECTOR_TIMESTAMP),
                Err(VerifyError::Malformed),
                "{header:?}"
            );
        }
    }

    #[test]
    fn verify_skips_other_schemes_and_finds_the_v1_entry() {
        let header = format!("v1a,AAAA {VECTOR_SIGNATURE}");
        assert_eq!(
            verify_vector(VECTOR_BODY, &header, VECTOR_TIMESTAMP),
            Ok(())
        );
        assert_eq!(
            verify_vector(VECTOR_BODY, "v1a,AAAA", VECTOR_TIMESTAMP),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn during_rotation_both_secrets_verify_the_same_header() {
        let old = SigningSecret::generate();
        let new = SigningSecret::generate();
        let body = br#"{"schema_version":"v1"}"#;
        let header = signature_header(&[new.clone(), old.clone()], "evt_1", 1_700_000_000, body);
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2, "{header}");
        assert_eq!(parts[0], sign(&new, "evt_1", 1_700_000_000, body));
        assert_eq!(parts[1], sign(&old, "evt_1", 1_700_000_000, body));
        for secret in [&old, &new] {
            let result = verify(
                secret,
                "evt_1",
                1_700_000_000,
                body,
                &header,
                1_700_000_000,
                5,
            );
            assert_eq!(result, Ok(()));
        }
    }

    #[test]
    fn a_generated_secret_has_24_key_bytes_and_parses_back() {
        let secret = SigningSecret::generate();
        let encoded = secret.as_str().strip_prefix("whsec_").unwrap();
        assert_eq!(STANDARD.decode(encoded).unwrap().len(), 24);
        let parsed = SigningSecret::parse(secret.as_str()).unwrap();
        assert_eq!(parsed.as_str(), secret.as_str());
        assert_ne!(SigningSecret::generate().as_str(), secret.as_str());
    }

    #[test]
    fn a_secret_without_padding_parses_to_the_padded_form() {
        // 25 key bytes need padding in base64.
        let padded = format!("whsec_{}", STANDARD.encode([7u8; 25]));
        assert!(padded.ends_with('='));
        let unpadded = padded.trim_end_matches('=');
        assert_eq!(SigningSecret::parse(unpadded).unwrap().as_str(), padded);
    }

    #[test]
    fn invalid_secrets_are_rejected_with_a_reason() {
        let cases = [
            (
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                InvalidSecret::MissingPrefix,
            ),
            ("whsec_not*base64", InvalidSecret::NotBase64),
            ("whsec_c2hvcnQ=", InvalidSecret::KeyLength(5)),
        ];
        for (input, expected) in cases {
            assert_eq!(
                SigningSecret::parse(input).unwrap_err(),
                expected,
                "{input}"
            );
        }
        let too_long = format!("whsec_{}", STANDARD.encode([1u8; 65]));
        assert_eq!(
            SigningSecret::parse(&too_long).unwrap_err(),
            InvalidSecret::KeyLength(65)
        );
        assert!(InvalidSecret::KeyLength(5)
            .to_string()
            .contains("24 to 64 bytes"));
    }

    #[test]
    fn debug_output_does_not_contain_the_secret() {
        let secret = vector_secret();
        let debug = format!("{secret:?} {:?}", Some(&secret));
        assert!(!debug.contains("MfKQ9r8G"), "{debug}");
        assert!(debug.contains("whsec_***"));
    }
}
