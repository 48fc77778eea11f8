//! SMS templates: text with named variables (`{otp}`), the DLT registration
//! it must match (whose variables are written `{#var#}`), and rendering.

use std::collections::BTreeMap;

use crate::schema::EventType;

/// The variables a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variable {
    /// The merchant's order reference (the OMS order id when it has none).
    OrderRef,
    /// The merchant's (partner's) name.
    Merchant,
    /// The rider's first name.
    Rider,
    /// The delivery OTP: only in out_for_delivery SMS.
    Otp,
    /// The estimated delivery window, India time (`14:30-15:30`).
    Eta,
    /// The order's public tracking page.
    TrackingLink,
    /// Why the delivery failed.
    FailureReason,
}

impl Variable {
    /// Every variable.
    pub const ALL: [Variable; 7] = [
        Variable::OrderRef,
        Variable::Merchant,
        Variable::Rider,
        Variable::Otp,
        Variable::Eta,
        Variable::TrackingLink,
        Variable::FailureReason,
    ];

    /// Its name in a template (`{order_ref}`).
    pub fn name(self) -> &'static str {
        match self {
            Variable::OrderRef => "order_ref",
            Variable::Merchant => "merchant",
            Variable::Rider => "rider",
            Variable::Otp => "otp",
            Variable::Eta => "eta",
            Variable::TrackingLink => "tracking_link",
            Variable::FailureReason => "failure_reason",
        }
    }

    fn from_name(name: &str) -> Option<Variable> {
        Variable::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// DLT's limit on the value of one `{#var#}`.
pub const DLT_VARIABLE_MAX_CHARS: usize = 30;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Fixed(&'a str),
    Var(Variable),
}

/// Why a template cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{name}` names no variable.
    #[error("unknown variable {{{0}}}; known: order_ref, merchant, rider, otp, eta, tracking_link, failure_reason")]
    UnknownVariable(String),
    /// A `{` without its `}`.
    #[error("a '{{' is not closed")]
    Unclosed,
    /// The OTP may appear only in the out_for_delivery SMS.
    #[error("{{otp}} is allowed only in the out_for_delivery template")]
    OtpOutsideOutForDelivery,
    /// The fixed text differs from the registered DLT text.
    #[error("the text does not match the registered DLT template: {0}")]
    DltMismatch(String),
    /// A required field is empty or malformed.
    #[error("{field} {problem}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// A partner's SMS for one event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The event type it is sent for.
    pub event_type: EventType,
    /// Whether this type is sent at all.
    pub enabled: bool,
    /// The text, with `{variable}`s.
    pub text: String,
    /// The text as registered on DLT, variables written `{#var#}`.
    pub dlt_text: String,
    /// The DLT content template id.
    pub dlt_template_id: String,
    /// The registered sender header (6 characters, e.g. `SHOPIN`).
    pub sender_header: String,
    /// The DLT principal entity id.
    pub entity_id: String,
}

impl Template {
    /// Checks everything the operator would check: known variables, the OTP
    /// only where it belongs, the fixed text equal to the DLT text, and the
    /// ids' shapes.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let pieces = parse(&self.text)?;
        let has_otp = pieces.contains(&Piece::Var(Variable::Otp));
        if has_otp && self.event_type != EventType::OutForDelivery {
            return Err(TemplateError::OtpOutsideOutForDelivery);
        }
        check_dlt(&pieces, &self.dlt_text)?;
        check_id("dlt_template_id", &self.dlt_template_id)?;
        check_id("entity_id", &self.entity_id)?;
        let header_ok = (3..=11).contains(&self.sender_header.len())
            && self
                .sender_header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric());
        if !header_ok {
            return Err(TemplateError::Field {
                field: "sender_header",
                problem: "must be 3 to 11 letters or digits",
            });
        }
        Ok(())
    }

    /// The text with `values` in place of its variables, each cut to DLT's
    /// length limit (the tracking link excepted). A variable without a value
    /// renders empty.
    pub fn render(&self, values: &BTreeMap<Variable, String>) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(self.text.len() + 32);
        for piece in parse(&self.text)? {
            match piece {
                Piece::Fixed(s) => out.push_str(s),
                Piece::Var(v) => {
                    let value = values.get(&v).map(String::as_str).unwrap_or("");
                    if v == Variable::TrackingLink {
                        out.push_str(value);
                    } else {
                        out.extend(value.chars().take(DLT_VARIABLE_MAX_CHARS));
                    }
                }
            }
        }
        Ok(out)
    }
}

fn check_id(field: &'static str, id: &str) -> Result<(), TemplateError> {
    if (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(TemplateError::Field {
            field,
            problem: "must be 1 to 32 digits",
        })
    }
}

/// Splits a template into fixed text and variables.
fn parse(text: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Fixed(&rest[..open]));
        }
        let close = rest[open..].find('}').ok_or(TemplateError::Unclosed)? + open;
        let name = rest[open + 1..close].trim();
        let var = Variable::from_name(name)
            .ok_or_else(|| TemplateError::UnknownVariable(name.to_owned()))?;
        pieces.push(Piece::Var(var));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Fixed(rest));
    }
    Ok(pieces)
}

/// The registered DLT text a template's text corresponds to.
pub fn dlt_text_of(text: &str) -> Result<String, TemplateError> {
    Ok(parse(text)?
        .into_iter()
        .map(|p| match p {
            Piece::Fixed(s) => s,
            Piece::Var(_) => "{#var#}",
        })
        .collect())
}

/// The operator compares the fixed text exactly; only the variables vary.
fn check_dlt(pieces: &[Piece<'_>], dlt_text: &str) -> Result<(), TemplateError> {
    let ours: String = pieces
        .iter()
        .map(|p| match p {
            Piece::Fixed(s) => *s,
            Piece::Var(_) => "{#var#}",
        })
        .collect();
    if ours == dlt_text {
        return Ok(());
    }
    let at = ours
        .chars()
        .zip(dlt_text.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let near: String = dlt_text.chars().skip(at).take(20).collect();
    Err(TemplateError::DltMismatch(format!(
        "they differ at character {} (registered text there: {near:?})",
        at + 1
    )))
}

/// Example values, for previews: as long as real ones typically are.
pub fn sample_values() -> BTreeMap<Variable, String> {
    BTreeMap::from([
        (Variable::OrderRef, "SHOP-104233".to_owned()),
        (Variable::Merchant, "Sharma Stores".to_owned()),
        (Variable::Rider, "Ravi".to_owned()),
        (Variable::Otp, "4821".to_owned()),
        (Variable::Eta, "14:30-15:30".to_owned()),
        (
            Variable::TrackingLink,
            "https://track.example.in/track/x7Kq2mPz9LwR4tYb8NcV1a".to_owned(),
        ),
        (Variable::FailureReason, "Customer not reachable".to_owned()),
    ])
}

impl TemplateError {
    /// The template field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            TemplateError::UnknownVariable(_)
            | TemplateError::Unclosed
            | TemplateError::OtpOutsideOutForDelivery => "text",
            TemplateError::DltMismatch(_) => "dlt_text",
            TemplateError::Field { field, .. } => field,
        }
    }
}

/// The text trackwire proposes for `event_type` until the merchant writes
/// their own.
pub fn default_text(event_type: EventType) -> &'static str {
    match event_type {
        EventType::OrderConfirmed => {
            "Your {merchant} order {order_ref} is confirmed. Track it here: {tracking_link}"
        }
        EventType::OutForDelivery => {
            "{rider} is bringing your {merchant} order {order_ref} today, {eta}. Share OTP {otp} only on delivery. {tracking_link}"
        }
        EventType::Delivered => {
            "Your {merchant} order {order_ref} has been delivered. Thank you for shopping with us."
        }
        EventType::DeliveryFailed => {
            "We could not deliver your {merchant} order {order_ref}: {failure_reason}. We will try again. {tracking_link}"
        }
        EventType::ReturnInitiated => {
            "The return of your {merchant} order {order_ref} has been requested. We will collect it soon."
        }
        EventType::ReturnPickedUp => {
            "The return of your {merchant} order {order_ref} has been picked up. Your refund is on its way."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(event_type: EventType, text: &str) -> Template {
        Template {
            event_type,
            enabled: true,
            text: text.to_owned(),
            dlt_text: dlt_text_of(text).unwrap(),
            dlt_template_id: "1107161234567890123".into(),
            sender_header: "SHOPIN".into(),
            entity_id: "1101234567890".into(),
        }
    }

    #[test]
    fn every_default_is_valid_and_fits_two_sms() {
        for ty in EventType::ALL {
            let t = template(ty, default_text(ty));
            assert_eq!(t.validate(), Ok(()), "{ty}");
            let values = Variable::ALL
                .into_iter()
                .map(|v| (v, "x".repeat(DLT_VARIABLE_MAX_CHARS)))
                .collect();
            let text = t.render(&values).unwrap();
            assert!(super::super::parts::count(&text).count <= 2, "{ty}: {text}");
        }
    }

    #[test]
    fn rendering_fills_named_variables_and_cuts_long_values() {
        let t = template(
            EventType::OutForDelivery,
            "Hi, {rider} has OTP {otp} for {order_ref}.",
        );
        let values = BTreeMap::from([
            (Variable::Rider, "Ravi".to_owned()),
            (Variable::Otp, "4821".to_owned()),
            (Variable::OrderRef, "R".repeat(40)),
        ]);
        assert_eq!(
            t.render(&values).unwrap(),
            format!("Hi, Ravi has OTP 4821 for {}.", "R".repeat(30))
        );
        let missing = t.render(&BTreeMap::new()).unwrap();
        assert_eq!(missing, "Hi,  has OTP  for .");
    }

    #[test]
    fn the_fixed_text_must_equal_the_registered_dlt_text() {
        let mut t = template(EventType::Delivered, "Order {order_ref} delivered.");
        t.dlt_text = "Order {#var#} delivered.".into();
        assert_eq!(t.validate(), Ok(()));
        t.dlt_text = "Order {#var#} was delivered.".into();
        let err = t.validate().unwrap_err();
        assert!(matches!(err, TemplateError::DltMismatch(_)), "{err}");
        assert!(err.to_string().contains("character 15"), "{err}");
        // A variable more or less is a mismatch too.
        t.dlt_text = "Order {#var#} delivered {#var#}".into();
        assert!(matches!(t.validate(), Err(TemplateError::DltMismatch(_))));
        t.dlt_text = "Order  delivered.".into();
        assert!(matches!(t.validate(), Err(TemplateError::DltMismatch(_))));
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        let t = template(EventType::Delivered, "x");
        let with_text = |text: &str| Template {
            text: text.into(),
            ..t.clone()
        };
        assert_eq!(
            with_text("Hi {name}").validate(),
            Err(TemplateError::UnknownVariable("name".into()))
        );
        assert_eq!(
            with_text("Hi {otp").validate(),
            Err(TemplateError::Unclosed)
        );
        assert_eq!(
            template(EventType::Delivered, "OTP {otp}").validate(),
            Err(TemplateError::OtpOutsideOutForDelivery)
        );
        let bad_header = Template {
            sender_header: "SH OP".into(),
            ..t.clone()
        };
        assert!(matches!(
            bad_header.validate(),
            Err(TemplateError::Field {
                field: "sender_header",
                ..
            })
        ));
        let bad_id = Template {
            dlt_template_id: "12ab".into(),
            ..t
        };
        assert!(matches!(
            bad_id.validate(),
            Err(TemplateError::Field {
                field: "dlt_template_id",
                ..
            })
        ));
    }
}
