//! Which signature scheme an endpoint's requests carry.

use std::str::FromStr;

/// The signing scheme an endpoint chose when it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningScheme {
    /// `v1`: HMAC-SHA256 with a shared `whsec_` secret (the default).
    #[default]
    Hmac,
    /// `v1a`: ed25519 with a `whsk_` key; receivers verify with its `whpk_` public key.
    Ed25519,
}

/// A name that is not a signing scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signing scheme {0:?}: use \"hmac\" or \"ed25519\"")]
pub struct UnknownScheme(pub String);

impl SigningScheme {
    /// Every scheme, the default first.
    pub const ALL: [SigningScheme; 2] = [SigningScheme::Hmac, SigningScheme::Ed25519];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningScheme::Hmac => "hmac",
            SigningScheme::Ed25519 => "ed25519",
        }
    }
}

impl FromStr for SigningScheme {
    type Err = UnknownScheme;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SigningScheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str() == s)
            .ok_or_else(|| UnknownScheme(s.to_owned()))
    }
}
