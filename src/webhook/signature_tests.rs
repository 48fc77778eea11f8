//! Tests of the HMAC (`v1`) signatures and of `verify` for both schemes.

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
