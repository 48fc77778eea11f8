//! Standard Webhooks asymmetric signatures: ed25519 over `{id}.{timestamp}.{body}`, sent
//! as `v1a,<base64>`. The signing key is `whsk_` + base64 of the 32-byte seed followed by
//! the 32-byte public key (the 64-byte form libsodium and the reference libraries use);
//! the public key that receivers verify with is `whpk_` + base64 of its 32 bytes.
//!
//! Signing uses ring's Ed25519, already built for rustls.

use base64::{engine::general_purpose::STANDARD, Engine};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

/// Prefix of a serialized signing (secret) key.
pub const SECRET_KEY_PREFIX: &str = "whsk_";

/// Prefix of a serialized public key.
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// Signature scheme identifier of ed25519 signatures in the header.
pub const SCHEME: &str = "v1a";

const SEED_LEN: usize = 32;
const PUBLIC_LEN: usize = 32;

/// Why a `whsk_` string is not a usable ed25519 key. The key itself is never included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKey {
    /// What follows `whsk_` is not base64.
    #[error("ed25519 secret key must be `whsk_` followed by base64 (standard alphabet)")]
    NotBase64,
    /// Neither a 32-byte seed nor a 64-byte seed and public key.
    #[error("ed25519 secret key must be 32 or 64 bytes, this one is {0} bytes")]
    KeyLength(usize),
    /// The 64-byte form's public half does not belong to its seed.
    #[error("ed25519 secret key's public half does not match its seed")]
    Mismatch,
}

/// An ed25519 signing key with its canonical `whsk_` and `whpk_` forms.
pub struct AsymmetricKey {
    pair: Ed25519KeyPair,
    encoded: String,
    public: String,
}

impl AsymmetricKey {
    /// A new random key from the thread's CSPRNG.
    pub fn generate() -> Self {
        let seed: [u8; SEED_LEN] = rand::random();
        // Any 32 bytes are a valid seed.
        Self::from_seed(&seed, None).expect("a random seed is a valid ed25519 key")
    }

    /// Parses the `whsk_` payload (what follows the prefix, decoded): a 32-byte seed, or
    /// the 64-byte seed and public key.
    pub fn from_bytes(key: &[u8]) -> Result<Self, InvalidKey> {
        match key.len() {
            SEED_LEN => Self::from_seed(key, None),
            n if n == SEED_LEN + PUBLIC_LEN => {
                let (seed, public) = key.split_at(SEED_LEN);
                Self::from_seed(seed, Some(public))
            }
            n => Err(InvalidKey::KeyLength(n)),
        }
    }

    fn from_seed(seed: &[u8], public: Option<&[u8]>) -> Result<Self, InvalidKey> {
        let pair = match public {
            Some(public) => Ed25519KeyPair::from_seed_and_public_key(seed, public)
                .map_err(|_| InvalidKey::Mismatch)?,
            None => Ed25519KeyPair::from_seed_unchecked(seed)
                .map_err(|_| InvalidKey::KeyLength(seed.len()))?,
        };
        let public_bytes = pair.public_key().as_ref();
        let mut full = Vec::with_capacity(SEED_LEN + PUBLIC_LEN);
        full.extend_from_slice(seed);
        full.extend_from_slice(public_bytes);
        Ok(AsymmetricKey {
            encoded: format!("{SECRET_KEY_PREFIX}{}", STANDARD.encode(&full)),
            public: format!("{PUBLIC_KEY_PREFIX}{}", STANDARD.encode(public_bytes)),
            pair,
        })
    }

    /// The canonical `whsk_…` form (64 bytes, padded base64).
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// The `whpk_…` public key: not a secret, shown to the partner at any time.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The base64 ed25519 signature of `content`.
    pub fn sign(&self, content: &[u8]) -> String {
        STANDARD.encode(self.pair.sign(content).as_ref())
    }

    /// Whether `signature` is this key's signature of `content`.
    pub fn verifies(&self, content: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, self.pair.public_key().as_ref())
            .verify(content, signature)
            .is_ok()
    }
}

/// Decodes the base64 of a `whsk_` string (after the prefix).
pub fn decode(encoded: &str, lenient: &impl Engine) -> Result<Vec<u8>, InvalidKey> {
    lenient.decode(encoded).map_err(|_| InvalidKey::NotBase64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::{sign, verify, SigningScheme, SigningSecret, VerifyError};

    // RFC 8032 §7.1, test 1: the seed, its public key, and the signature of the empty
    // message.
    const RFC_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const RFC_SIGNATURE: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065\
                                 224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Verifies with ed25519-dalek, not the ring code that signed.
    fn dalek_verifies(public_key: &str, content: &[u8], v1a: &str) -> bool {
        use ed25519_dalek::{Signature, Verifier, VerifyingKey};
        let public = STANDARD
            .decode(public_key.strip_prefix(PUBLIC_KEY_PREFIX).unwrap())
            .unwrap();
        let key = VerifyingKey::from_bytes(&public.try_into().unwrap()).unwrap();
        let bytes = STANDARD.decode(v1a.strip_prefix("v1a,").unwrap()).unwrap();
        let signature = Signature::from_slice(&bytes).unwrap();
        key.verify(content, &signature).is_ok()
    }

    #[test]
    fn the_rfc_8032_vector_gives_its_public_key_and_signature() {
        let key = AsymmetricKey::from_bytes(&hex(RFC_SEED)).unwrap();
        assert_eq!(
            key.public_key(),
            format!("whpk_{}", STANDARD.encode(hex(RFC_PUBLIC)))
        );
        assert_eq!(key.sign(b""), STANDARD.encode(hex(RFC_SIGNATURE)));
        // The 64-byte form (seed, then public key) is what is stored.
        let full = [hex(RFC_SEED), hex(RFC_PUBLIC)].concat();
        assert_eq!(key.as_str(), format!("whsk_{}", STANDARD.encode(&full)));
        assert_eq!(
            AsymmetricKey::from_bytes(&full).unwrap().public_key(),
            key.public_key()
        );
    }

    #[test]
    fn a_v1a_signature_covers_id_timestamp_and_body_and_another_implementation_verifies_it() {
        let secret = SigningSecret::generate_ed25519();
        assert_eq!(secret.scheme(), SigningScheme::Ed25519);
        let public = secret.public_key().unwrap().to_owned();
        let header = sign(&secret, "evt_1", 1_700_000_000, br#"{"a":1}"#);
        assert!(header.starts_with("v1a,"), "{header}");
        assert!(dalek_verifies(
            &public,
            br#"evt_1.1700000000.{"a":1}"#,
            &header
        ));
        assert!(!dalek_verifies(
            &public,
            br#"evt_1.1700000001.{"a":1}"#,
            &header
        ));
        let check = |body: &[u8]| {
            verify(
                &secret,
                "evt_1",
                1_700_000_000,
                body,
                &header,
                1_700_000_000,
                300,
            )
        };
        assert_eq!(check(br#"{"a":1}"#), Ok(()));
        assert_eq!(check(br#"{"a":2}"#), Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn a_key_parses_back_from_its_stored_form() {
        let secret = SigningSecret::generate_ed25519();
        let stored = secret.as_str().to_owned();
        assert!(stored.starts_with("whsk_"));
        let back = SigningSecret::parse(&stored).unwrap();
        assert_eq!(back.as_str(), stored);
        assert_eq!(back.public_key(), secret.public_key());
        assert_eq!(format!("{back:?}"), "SigningSecret(whsk_***)");
        // An HMAC secret has no public key and signs v1.
        let hmac = SigningSecret::generate();
        assert_eq!(hmac.public_key(), None);
        assert!(sign(&hmac, "evt_1", 1, b"{}").starts_with("v1,"));
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        let err = |s: &str| SigningSecret::parse(s).unwrap_err().to_string();
        assert!(err("whsk_***").contains("base64"));
        assert!(err(&format!("whsk_{}", STANDARD.encode([7u8; 16]))).contains("16 bytes"));
        let mut full = [hex(RFC_SEED), hex(RFC_PUBLIC)].concat();
        full[40] ^= 1;
        assert!(err(&format!("whsk_{}", STANDARD.encode(&full))).contains("does not match"));
        assert!(
            err("whpk_abc").contains("whsec_"),
            "a public key cannot sign"
        );
    }
}
