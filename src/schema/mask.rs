//! Masking of phone numbers before they leave the dispatch data.

/// How many digits stay visible at each end of a masked phone number.
const VISIBLE_DIGITS: usize = 2;

/// Masks a phone number for the payload: keeps the first 2 and the last 2 digits, turns
/// every other digit into `*`, and keeps non-digit characters (`+`, spaces, dashes) so the
/// number still reads like one. `"+91 98765 43210"` becomes `"+91 ***** ***10"` (the
/// first two digits are those of the country code).
///
/// A number of 4 or fewer digits is fully masked: showing 2 + 2 of it would show it all.
/// Any Unicode digit counts as a digit, so a number written in another script is masked
/// too.
pub fn mask_phone(phone: &str) -> String {
    let digits = phone.chars().filter(|c| c.is_numeric()).count();
    let fully_masked = digits <= 2 * VISIBLE_DIGITS;
    let mut seen = 0;
    phone
        .chars()
        .map(|c| {
            if !c.is_numeric() {
                return c;
            }
            let index = seen;
            seen += 1;
            // `fully_masked` is checked first: only then is `digits - VISIBLE_DIGITS` safe.
            if !fully_masked && (index < VISIBLE_DIGITS || index >= digits - VISIBLE_DIGITS) {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_international_number_keeps_its_first_and_last_two_digits() {
        assert_eq!(mask_phone("+91 98765 43210"), "+91 ***** ***10");
    }

    #[test]
    fn separators_are_kept_in_place() {
        assert_eq!(mask_phone("98765-43210"), "98***-***10");
        assert_eq!(mask_phone("(080) 2345 6789"), "(08*) **** **89");
        assert_eq!(mask_phone("9876543210"), "98******10");
    }

    #[test]
    fn a_number_of_four_or_fewer_digits_is_fully_masked() {
        assert_eq!(mask_phone("1234"), "****");
        assert_eq!(mask_phone("+1-23"), "+*-**");
        assert_eq!(mask_phone("7"), "*");
        assert_eq!(mask_phone(""), "");
    }

    #[test]
    fn five_digits_hide_only_the_middle_one() {
        assert_eq!(mask_phone("12345"), "12*45");
    }

    #[test]
    fn digits_of_other_scripts_are_masked_too() {
        assert_eq!(mask_phone("९८७६५४३२१०"), "९८******१०");
    }
}
