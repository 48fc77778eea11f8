//! How the SMS templates page is drawn: one card per event type, its form,
//! and the preview the server computes (the script recomputes it as the
//! merchant types, with the same sample values and alphabet).

use std::fmt::Write as _;

use crate::http::portal::html::{self, csrf_field, Esc};
use crate::http::tracking_page::label;
use crate::schema::EventType;
use crate::sms::parts::{self, GSM_BASIC, GSM_EXTENDED};
use crate::sms::template::{dlt_text_of, sample_values, Variable, DLT_VARIABLE_MAX_CHARS};
use crate::sms::Template;
use crate::store::portal::Session;

/// One event type's form as drawn.
#[derive(Debug, Clone)]
pub struct Form {
    /// The values shown: stored, default, or as just posted.
    pub template: Template,
    /// Whether the partner saved this type (else it is the default, off).
    pub saved: bool,
    /// The refused field and why, after a failed save.
    pub error: Option<(String, String)>,
}

/// The label of a template field in the form.
fn field_label(field: &str) -> &'static str {
    match field {
        "text" => "Text",
        "dlt_text" => "Registered DLT text",
        "dlt_template_id" => "DLT template id",
        "sender_header" => "Sender header",
        "entity_id" => "Entity id",
        _ => "This SMS",
    }
}

/// The data the script counts with, as attributes of the page's root: the
/// sample values, DLT's cut, and the GSM-7 alphabets (as JSON, so a CR in
/// them survives HTML's line-end normalisation).
fn script_data() -> String {
    let samples: serde_json::Map<String, serde_json::Value> = sample_values()
        .into_iter()
        .map(|(v, s)| (v.name().to_owned(), s.into()))
        .collect();
    format!(
        r#" data-samples="{}" data-var-max="{DLT_VARIABLE_MAX_CHARS}" data-uncut="{}" data-gsm-basic="{}" data-gsm-extended="{}""#,
        Esc(&serde_json::Value::Object(samples).to_string()),
        Variable::TrackingLink.name(),
        Esc(&serde_json::Value::from(GSM_BASIC).to_string()),
        Esc(&serde_json::Value::from(GSM_EXTENDED).to_string()),
    )
}

/// The whole page body.
pub fn page(forms: &[Form], session: &Session, notice: &str, tracking_on: bool) -> String {
    let off = if tracking_on {
        String::new()
    } else {
        html::notice(
            "warn",
            "Built-in tracking is off: no SMS goes out until you turn it on on the \
             Built-in tracking page.",
        )
    };
    let mut out = format!(
        r#"<h1>SMS templates</h1>{notice}{off}
<div class="card"><p>Each event can text your customer. In India every business SMS must match a template
registered on the operators' DLT platform: write your text here with the variables below, register the
same text on DLT with <code>{{#var#}}</code> in place of each variable, and save the ids DLT gave you.
An SMS that differs from its registered text is dropped by the operator, so saving refuses it.</p>
<p class="muted small">Variables: <code>{{order_ref}}</code> <code>{{merchant}}</code> <code>{{rider}}</code> (first name)
<code>{{otp}}</code> (out for delivery only) <code>{{eta}}</code> <code>{{tracking_link}}</code> <code>{{failure_reason}}</code>.
Each value is cut to {DLT_VARIABLE_MAX_CHARS} characters, the link excepted. One SMS holds 160 GSM-7 characters
(153 each when split) or 70 UCS-2 characters, which any non-Latin script needs (67 each when split).</p></div>
<div id="sms-templates"{data}>"#,
        data = script_data(),
    );
    for form in forms {
        out.push_str(&card(form, session));
    }
    out.push_str(r#"</div><script src="/portal/static/sms.js"></script>"#);
    out
}

/// The state badge of a type.
fn state_badge(form: &Form) -> String {
    match (form.saved, form.template.enabled) {
        (false, _) => html::badge("muted", "Off: not set up"),
        (true, true) => html::badge("ok", "On"),
        (true, false) => html::badge("warn", "Off"),
    }
}

/// The preview of `t` on the sample values, as the server computes it.
fn preview(t: &Template) -> String {
    let ty = t.event_type.as_str();
    let (shown, error) = match t.render(&sample_values()) {
        Ok(text) => (text, String::new()),
        Err(e) => (String::new(), e.to_string()),
    };
    let size = parts::count(&shown);
    let expected = dlt_text_of(&t.text).unwrap_or_default();
    format!(
        r#"<div class="preview-box" id="preview-box-{ty}">
<span class="muted small">Preview with example values</span>
<pre class="preview" id="preview-{ty}">{shown}</pre>
<p class="size small" id="size-{ty}" data-source="server"><span class="chars">{chars}</span> characters · <span class="encoding">{encoding}</span> · <span class="parts">{count}</span> SMS</p>
<p class="small">Register on DLT as: <code class="dlt-expected" id="dlt-expected-{ty}">{expected}</code> <span class="dlt-match" id="dlt-match-{ty}"></span></p>
<p class="live-error small" id="live-error-{ty}">{error}</p>
</div>"#,
        shown = Esc(&shown),
        chars = size.units,
        encoding = size.encoding.as_str(),
        count = size.count,
        expected = Esc(&expected),
        error = Esc(&error),
    )
}

/// One input, marked invalid when it is the refused field.
fn input(ty: &str, name: &str, value: &str, error: Option<&str>, extra: &str) -> String {
    let invalid = if error == Some(name) {
        r#" aria-invalid="true" class="invalid""#
    } else {
        ""
    };
    format!(
        r#"<div><label for="{name}-{ty}">{label}</label><input type="text" id="{name}-{ty}" name="{name}" value="{value}"{invalid}{extra}></div>"#,
        label = field_label(name),
        value = Esc(value),
    )
}

/// One event type's card.
fn card(form: &Form, session: &Session) -> String {
    let t = &form.template;
    let ty = t.event_type.as_str();
    let error_field = form.error.as_ref().map(|(f, _)| f.as_str());
    let error = form.error.as_ref().map_or_else(String::new, |(field, message)| {
        format!(
            r#"<p class="notice bad field-error" id="error-{ty}" data-field="{f}" role="alert"><strong>{label}:</strong> {m}</p>"#,
            f = Esc(field),
            label = field_label(field),
            m = Esc(message),
        )
    });
    let invalid = |name: &str| {
        if error_field == Some(name) {
            r#" aria-invalid="true" class="invalid""#
        } else {
            ""
        }
    };
    let checked = if t.enabled { " checked" } else { "" };
    let otp_hint = if t.event_type == EventType::OutForDelivery {
        r#"<p class="muted small">The OTP goes in this SMS and in no other.</p>"#
    } else {
        ""
    };
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<section class="card sms-type" id="{ty}" data-type="{ty}">
<h2>{name} <span class="sms-state" id="state-{ty}">{badge}</span></h2>{error}
<form method="post" action="/portal/sms/{ty}#{ty}" class="sms-form" data-type="{ty}">{csrf}
<div class="checks"><label><input type="checkbox" id="enabled-{ty}" name="enabled" value="1"{checked}> Send this SMS</label></div>
<label for="text-{ty}">Text</label>
<textarea id="text-{ty}" name="text" rows="3" maxlength="1000"{text_invalid}>
{text}</textarea>{otp_hint}
{preview}
<label for="dlt_text-{ty}">Registered DLT text</label>
<textarea id="dlt_text-{ty}" name="dlt_text" rows="3" maxlength="1000"{dlt_invalid}>
{dlt_text}</textarea>
<div class="row">{id}{header}{entity}</div>
<button id="save-{ty}">Save</button>
</form></section>"#,
        name = label(t.event_type),
        badge = state_badge(form),
        csrf = csrf_field(session),
        text_invalid = invalid("text"),
        text = Esc(&t.text),
        preview = preview(t),
        dlt_invalid = invalid("dlt_text"),
        dlt_text = Esc(&t.dlt_text),
        id = input(
            ty,
            "dlt_template_id",
            &t.dlt_template_id,
            error_field,
            r#" inputmode="numeric" maxlength="32""#
        ),
        header = input(
            ty,
            "sender_header",
            &t.sender_header,
            error_field,
            r#" maxlength="11" autocapitalize="characters""#
        ),
        entity = input(
            ty,
            "entity_id",
            &t.entity_id,
            error_field,
            r#" inputmode="numeric" maxlength="32""#
        ),
    );
    out
}
