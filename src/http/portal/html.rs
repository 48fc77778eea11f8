//! The page layout, the style sheet, and escaping.
//!
//! Pages are built with `format!`. Everything that did not come from this
//! file goes through [`Esc`] (text and attribute values alike), so partner
//! input such as descriptions, URLs and receiver answers cannot become
//! markup.

use std::fmt::{self, Display, Write as _};

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use chrono::{DateTime, Utc};

use crate::store::portal::Session;

/// Escapes its text for HTML element content and quoted attribute values.
pub struct Esc<'a>(pub &'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// `text` escaped, as a `String`.
pub fn esc(text: &str) -> String {
    Esc(text).to_string()
}

/// Percent-encodes a query parameter value.
pub fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A time as the portal shows it: UTC, to the second.
pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// An optional time, or a dash.
pub fn time_or_dash(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "—".to_owned(), time)
}

/// A coloured label: `kind` is one of `ok`, `bad`, `warn`, `info`, `muted`.
pub fn badge(kind: &str, text: &str) -> String {
    format!(r#"<span class="badge {kind}">{}</span>"#, Esc(text))
}

/// The badge of a delivery status.
pub fn status_badge(status: &str) -> String {
    let kind = match status {
        "delivered" => "ok",
        "dead" => "bad",
        "retrying" => "warn",
        _ => "muted",
    };
    badge(kind, status)
}

/// The hidden CSRF field every form of a session carries.
pub fn csrf_field(session: &Session) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        Esc(&session.csrf_token)
    )
}

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Endpoints pages.
    Endpoints,
    /// Event log pages.
    Events,
    /// Health page.
    Health,
    /// Orders dashboard (built-in tracking).
    Orders,
    /// Built-in tracking setting.
    Tracking,
    /// SMS templates (built-in tracking).
    Sms,
    /// Pages outside the navigation (sign-in, errors).
    None,
}

/// A full page with `status`. `session` adds the navigation and sign-out.
pub fn page(
    status: StatusCode,
    title: &str,
    session: Option<&Session>,
    nav: Nav,
    body: &str,
) -> HttpResponse {
    let header_nav = match session {
        None => String::new(),
        Some(s) => {
            let link = |target: Nav, href: &str, label: &str| {
                let current = if target == nav {
                    r#" aria-current="page""#
                } else {
                    ""
                };
                format!(r#"<a href="{href}"{current}>{label}</a>"#)
            };
            format!(
                r#"<nav>{}{}{}{}{}{}</nav>
<form method="post" action="/portal/logout" class="signout">{}<span class="who">{}</span> <button class="link">Sign out</button></form>"#,
                link(Nav::Endpoints, "/portal/endpoints", "Endpoints"),
                link(Nav::Events, "/portal/events", "Event log"),
                link(Nav::Health, "/portal/health", "Health"),
                link(Nav::Orders, "/portal/orders", "Orders"),
                link(Nav::Tracking, "/portal/tracking", "Built-in tracking"),
                link(Nav::Sms, "/portal/sms", "SMS"),
                csrf_field(s),
                Esc(&s.partner_name),
            )
        }
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · trackwire</title>
<style>{CSS}</style>
</head>
<body>
<header><div class="wrap bar"><a class="brand" href="/portal">trackwire</a>{header_nav}</div></header>
<main class="wrap">
{body}
</main>
</body>
</html>
"#,
        title = Esc(title),
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .body(html)
}

/// A 200 page.
pub fn ok(title: &str, session: &Session, nav: Nav, body: &str) -> HttpResponse {
    page(StatusCode::OK, title, Some(session), nav, body)
}

/// `page` allowed to run the portal's own scripts (`/portal/static/…`) and
/// fetch from the portal; inline script stays forbidden.
pub fn with_own_script(mut page: HttpResponse) -> HttpResponse {
    page.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; \
             img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    page
}

/// A short notice box; `kind` as for [`badge`].
pub fn notice(kind: &str, text: &str) -> String {
    format!(r#"<p class="notice {kind}">{}</p>"#, Esc(text))
}

/// A 303 to `location` (after a form post).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The style sheet: system fonts, one column that fits a phone, tables that
/// scroll sideways rather than overflow. Below 600 px the tables marked
/// `stack` show each row as a card of labelled lines (a phone cannot fit
/// their columns side by side), and chart labels grow to stay readable at
/// the chart's reduced scale.
const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;background:#f5f7fa}
.wrap{max-width:1040px;margin:0 auto;padding:0 16px}
header{background:#1f2933;color:#fff}
.bar{display:flex;flex-wrap:wrap;align-items:center;gap:4px 20px;padding-top:10px;padding-bottom:10px}
.brand{color:#fff;font-weight:700;text-decoration:none;font-size:17px}
nav{display:flex;gap:14px;flex-wrap:wrap}
nav a{color:#cbd2d9;text-decoration:none;padding:2px 0}
nav a[aria-current]{color:#fff;border-bottom:2px solid #5fd4a0}
.signout{margin:0 0 0 auto;color:#cbd2d9;font-size:14px}
.signout button{color:#fff}
main{padding-top:18px;padding-bottom:40px}
h1{font-size:22px;margin:6px 0 14px}
h2{font-size:17px;margin:22px 0 8px}
a{color:#0b6bcb}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:14px 16px;margin:0 0 14px}
.muted{color:#616e7c}
.small{font-size:13px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:7px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{font-size:13px;color:#616e7c;font-weight:600;white-space:nowrap}
td.nowrap{white-space:nowrap}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
pre{background:#f0f4f8;border-radius:6px;padding:10px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;margin:6px 0}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;line-height:20px;background:#e4e7eb;color:#3e4c59;white-space:nowrap}
.badge.ok{background:#d6f5e6;color:#0e6b3f}
.badge.bad{background:#fde2e2;color:#a61b1b}
.badge.warn{background:#fff1cc;color:#8a5a00}
.badge.info{background:#dceefe;color:#0b4f8a}
.notice{border-radius:6px;padding:10px 12px;margin:0 0 14px;background:#dceefe;color:#0b4f8a}
.notice.ok{background:#d6f5e6;color:#0e6b3f}
.notice.bad{background:#fde2e2;color:#a61b1b}
.notice.warn{background:#fff1cc;color:#8a5a00}
label{display:block;font-weight:600;margin:10px 0 4px}
input[type=text],input[type=url],input[type=password],input[type=datetime-local],select,textarea{width:100%;max-width:560px;padding:8px 10px;border:1px solid #cbd2d9;border-radius:6px;font:inherit;background:#fff}
.checks{display:flex;flex-wrap:wrap;gap:6px 18px;margin:4px 0}
.checks label{font-weight:400;margin:0;display:flex;gap:6px;align-items:center}
.row{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end}
.row>div{flex:1 1 160px}
.row label{margin-top:0}
button,.button{display:inline-block;font:inherit;font-weight:600;border:0;border-radius:6px;padding:8px 14px;background:#0b6bcb;color:#fff;cursor:pointer;text-decoration:none;margin-top:10px}
button.secondary,.button.secondary{background:#e4e7eb;color:#1f2933}
button.danger{background:#c62828}
button.link{background:none;padding:0;margin:0;color:inherit;text-decoration:underline;font-weight:400}
form.inline{display:inline}
.secret{font-size:15px;background:#fff8e1;border:1px dashed #d9a400;padding:10px;border-radius:6px;word-break:break-all}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px 16px;margin:8px 0}
.grid>div{min-width:0;overflow-wrap:anywhere}
.grid>div>span:first-child{display:block;font-size:12px;color:#616e7c}
.invalid{border-color:#c62828!important;background:#fff5f5!important}
.preview-box{background:#f0f4f8;border-radius:6px;padding:8px 10px;margin:10px 0;max-width:560px}
.preview-box pre{background:#fff;min-height:1.5em}
.preview-box p{margin:4px 0}
.live-error{color:#a61b1b}
.live-error:empty{display:none}
.pager{display:flex;gap:12px;align-items:center;margin:12px 0}
svg{width:100%;height:auto;display:block}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:#616e7c}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
@media (max-width:600px){body{font-size:14px}.signout{margin-left:0}th,td{padding:6px}}
@media (max-width:600px){
table.stack thead{display:none}
table.stack,table.stack tbody,table.stack tr{display:block;width:100%}
table.stack tr{border-bottom:1px solid #e4e7eb;padding:4px 0}
table.stack td{display:flex;gap:8px;border:0;padding:2px 8px;white-space:normal;min-width:0;overflow-wrap:anywhere}
table.stack td::before{content:attr(data-label);flex:0 0 78px;font-size:12px;font-weight:600;color:#616e7c}
table.stack td>*{min-width:0}
svg[role=img] text{font-size:24px}
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(esc("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query_value("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
