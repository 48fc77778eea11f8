//! How many SMS a text takes: GSM-7 when every character is in the GSM 03.38
//! alphabet (160 characters in one SMS, 153 per part when concatenated),
//! UCS-2 otherwise (70, or 67 per part).

/// The GSM 03.38 basic alphabet, one septet each. The portal's live
/// preview counts with this same string.
pub const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: an escape septet plus one, so two septets each.
pub const GSM_EXTENDED: &str = "^{}\\[~]|€\x0c";

/// The alphabet a text is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// 7-bit GSM default alphabet.
    Gsm7,
    /// UTF-16 code units (any language).
    Ucs2,
}

impl Encoding {
    /// The name shown in the portal and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }
}

/// The size of a text as an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// Its alphabet.
    pub encoding: Encoding,
    /// Length in that alphabet's units: septets (extension characters count
    /// 2) or UTF-16 code units.
    pub units: usize,
    /// SMS it is sent as (1 for an empty text).
    pub count: usize,
}

/// Counts the units and SMS parts of `text`.
pub fn count(text: &str) -> Parts {
    let septets: Option<usize> = text.chars().map(septets_of).sum();
    let (encoding, units, single, per_part) = match septets {
        Some(n) => (Encoding::Gsm7, n, 160, 153),
        None => (Encoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let count = if units <= single {
        1
    } else {
        units.div_ceil(per_part)
    };
    Parts {
        encoding,
        units,
        count,
    }
}

/// Septets of one character, `None` when GSM-7 cannot carry it.
fn septets_of(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm7_fits_160_in_one_and_153_per_part() {
        assert_eq!(count(&"a".repeat(160)).count, 1);
        assert_eq!(count(&"a".repeat(161)).count, 2);
        assert_eq!(count(&"a".repeat(306)).count, 2);
        assert_eq!(count(&"a".repeat(307)).count, 3);
        assert_eq!(count("").count, 1);
        assert_eq!(count("Hello").encoding, Encoding::Gsm7);
    }

    #[test]
    fn extension_characters_take_two_septets() {
        let p = count("Pay €5 [now]");
        assert_eq!(p.encoding, Encoding::Gsm7);
        assert_eq!(p.units, 15);
        assert_eq!(count(&"€".repeat(80)).count, 1);
        assert_eq!(count(&"€".repeat(81)).count, 2);
    }

    #[test]
    fn other_scripts_are_ucs2_70_in_one_and_67_per_part() {
        let hindi = "आपका ऑर्डर";
        let p = count(hindi);
        assert_eq!(p.encoding, Encoding::Ucs2);
        assert_eq!(p.units, hindi.encode_utf16().count());
        assert_eq!(count(&"अ".repeat(70)).count, 1);
        assert_eq!(count(&"अ".repeat(71)).count, 2);
        assert_eq!(count(&"अ".repeat(134)).count, 2);
        assert_eq!(count(&"अ".repeat(135)).count, 3);
        // One character outside GSM-7 turns the whole text UCS-2.
        assert_eq!(count(&format!("{}✓", "a".repeat(69))).count, 1);
        assert_eq!(count(&format!("{}✓", "a".repeat(70))).count, 2);
        // Characters outside the BMP take two UTF-16 units.
        assert_eq!(count("📦").units, 2);
    }
}
