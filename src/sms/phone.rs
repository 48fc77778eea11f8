//! The end customer's phone number: normalised to E.164 at ingest, masked
//! whenever it is shown, and never printed by `Debug`.

use std::fmt;

/// Country code assumed for a national number without one.
const INDIA: &str = "91";

/// A customer's mobile number in E.164 form (`+919812345678`).
///
/// `Debug` shows only the masked form, so a number cannot reach a log line
/// by accident; [`CustomerPhone::expose`] is for the gateway alone.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomerPhone(String);

/// Why a column value is not a number trackwire can text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Something other than digits, spaces, dashes, dots, brackets and a
    /// leading `+` or `00`.
    #[error("the phone number has characters other than digits and separators")]
    Characters,
    /// Not a plausible length for its country.
    #[error("the phone number has the wrong number of digits")]
    Length,
    /// An Indian number that is not a mobile number (mobiles start with 6-9).
    #[error("the phone number is not an Indian mobile number")]
    NotMobile,
}

impl CustomerPhone {
    /// Normalises what the OMS stored. Indian numbers are accepted with or
    /// without the country code (`98123 45678`, `098123 45678`,
    /// `+91 98123 45678`, `0091…`); other countries need `+` or `00` and
    /// their code.
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        // Brackets only group digits: `(+91) 98123 45678`.
        let unbracketed: String = raw.chars().filter(|c| !matches!(c, '(' | ')')).collect();
        let trimmed = unbracketed.trim();
        let (international, rest) = if let Some(rest) = trimmed.strip_prefix('+') {
            (true, rest)
        } else if let Some(rest) = trimmed.strip_prefix("00") {
            (true, rest)
        } else {
            (false, trimmed)
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' => {}
                _ => return Err(PhoneError::Characters),
            }
        }
        let e164 = if international {
            digits
        } else {
            national_indian(&digits)?
        };
        if let Some(national) = e164.strip_prefix(INDIA) {
            if national.len() != 10 {
                return Err(PhoneError::Length);
            }
            if !national.starts_with(['6', '7', '8', '9']) {
                return Err(PhoneError::NotMobile);
            }
        }
        // E.164 allows at most 15 digits; fewer than 8 is no mobile anywhere.
        if !(8..=15).contains(&e164.len()) || e164.starts_with('0') {
            return Err(PhoneError::Length);
        }
        Ok(CustomerPhone(format!("+{e164}")))
    }

    /// Wraps a number stored by [`CustomerPhone::parse`] earlier.
    pub fn from_stored(e164: String) -> Self {
        CustomerPhone(e164)
    }

    /// The number itself, for the gateway and the store, nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The form shown to people: country code and last 2 digits
    /// (`+91******78`).
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks an E.164 number: its country code (for India) or first 2 digits,
/// and its last 2.
pub fn mask(e164: &str) -> String {
    let digits = e164.trim_start_matches('+');
    let keep_start = if digits.starts_with(INDIA) { 2 } else { 1 };
    if digits.len() <= keep_start + 2 {
        return "*".repeat(digits.len());
    }
    let hidden = digits.len() - keep_start - 2;
    format!(
        "+{}{}{}",
        &digits[..keep_start],
        "*".repeat(hidden),
        &digits[digits.len() - 2..]
    )
}

/// A national Indian number to E.164 digits: 10 digits, or 11 with the
/// trunk prefix 0, or 12 already starting with 91.
fn national_indian(digits: &str) -> Result<String, PhoneError> {
    match digits.len() {
        10 => Ok(format!("{INDIA}{digits}")),
        11 if digits.starts_with('0') => Ok(format!("{INDIA}{}", &digits[1..])),
        12 if digits.starts_with(INDIA) => Ok(digits.to_owned()),
        _ => Err(PhoneError::Length),
    }
}

/// What the OMS row said about the customer's phone. Carried beside the
/// event, never stored in it: only the SMS outbox keeps the number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PhoneOnRecord {
    /// No phone column configured, or the row has none.
    #[default]
    Missing,
    /// The row has a value that is not a textable number.
    Invalid(PhoneError),
    /// A normalised number.
    Valid(CustomerPhone),
}

impl PhoneOnRecord {
    /// Reads an optional column value.
    pub fn from_column(raw: Option<&str>) -> Self {
        match raw.map(str::trim).filter(|r| !r.is_empty()) {
            None => PhoneOnRecord::Missing,
            Some(raw) => match CustomerPhone::parse(raw) {
                Ok(phone) => PhoneOnRecord::Valid(phone),
                Err(e) => PhoneOnRecord::Invalid(e),
            },
        }
    }

    /// The number, when there is a valid one.
    pub fn valid(&self) -> Option<&CustomerPhone> {
        match self {
            PhoneOnRecord::Valid(p) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Debug for CustomerPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomerPhone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(raw: &str) -> Result<String, PhoneError> {
        CustomerPhone::parse(raw).map(|p| p.expose().to_owned())
    }

    #[test]
    fn indian_numbers_are_accepted_with_or_without_the_country_code() {
        for raw in [
            "9812345678",
            "98123 45678",
            "098123-45678",
            "+91 98123 45678",
            "0091 9812345678",
            "919812345678",
            "(+91) 98123.45678",
        ] {
            assert_eq!(e164(raw).as_deref(), Ok("+919812345678"), "{raw}");
        }
    }

    #[test]
    fn other_countries_need_their_code() {
        assert_eq!(e164("+44 7700 900123").as_deref(), Ok("+447700900123"));
        assert_eq!(e164("7700900123").as_deref(), Ok("+917700900123"));
    }

    #[test]
    fn invalid_numbers_say_why() {
        assert_eq!(e164("98123"), Err(PhoneError::Length));
        assert_eq!(e164("+91 12345 67890"), Err(PhoneError::NotMobile));
        assert_eq!(e164("98123x45678"), Err(PhoneError::Characters));
        assert_eq!(e164(""), Err(PhoneError::Length));
        assert_eq!(e164("+1234567890123456"), Err(PhoneError::Length));
    }

    #[test]
    fn debug_and_mask_never_show_the_whole_number() {
        let phone = CustomerPhone::parse("9812345678").unwrap();
        assert_eq!(phone.masked(), "+91********78");
        let debug = format!("{phone:?}");
        assert!(!debug.contains("98123"), "{debug}");
        assert_eq!(mask("+447700900123"), "+4*********23");
    }
}
