//! OMS order rows and the Debezium change events a MySQL connector would
//! write for them: used by the demo feed, the benchmarks and the tests.

use serde::Serialize;
use serde_json::{json, Value};

/// A row of the OMS `orders` table, with the column names of the default
/// `[cdc.columns]` mapping.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrderRow {
    /// Primary key.
    pub id: String,
    /// Owning partner.
    pub partner_id: String,
    /// OMS status.
    pub status: String,
    /// When the status changed, epoch milliseconds (Debezium's Timestamp).
    pub updated_at: Option<i64>,
    /// The merchant's own reference.
    pub merchant_order_ref: Option<String>,
    /// End customer.
    pub customer_id: Option<String>,
    /// End customer's mobile number, as the OMS stored it (the built-in
    /// SMS); left out of the row when unknown, as in an OMS without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_phone: Option<String>,
    /// Rider assigned.
    pub rider_name: Option<String>,
    /// Rider's phone, unmasked (trackwire masks it).
    pub rider_phone: Option<String>,
    /// Delivery OTP.
    pub delivery_otp: Option<String>,
    /// Estimated window start, RFC 3339.
    pub eta_start: Option<String>,
    /// Estimated window end, RFC 3339.
    pub eta_end: Option<String>,
    /// When it was delivered, RFC 3339.
    pub delivery_timestamp: Option<String>,
    /// Whether the address was confirmed, as MySQL TINYINT(1).
    pub delivery_address_confirmed: Option<i64>,
    /// Failure code.
    pub failure_reason_code: Option<String>,
    /// Failure text.
    pub failure_reason: Option<String>,
    /// Delivery attempts so far.
    pub attempt_number: Option<i64>,
    /// Return id.
    pub return_id: Option<String>,
    /// Return code.
    pub return_reason_code: Option<String>,
    /// Return text.
    pub return_reason: Option<String>,
    /// Condition flags, as a MySQL JSON column (a string holding an array).
    pub return_condition_flags: Option<String>,
    /// When the return was picked up, RFC 3339.
    pub pickup_timestamp: Option<String>,
}

/// A Debezium change event for `orders`, as the JSON converter writes it.
/// `position` stands for the binlog position (unique per change);
/// `wrapped` adds the `{"schema", "payload"}` wrapper.
pub fn change_event(
    op: &str,
    before: Option<&OrderRow>,
    after: Option<&OrderRow>,
    position: u64,
    wrapped: bool,
) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp_millis();
    let payload = json!({
        "before": before,
        "after": after,
        "source": {
            "version": "2.7.0.Final",
            "connector": "mysql",
            "name": "oms",
            "ts_ms": now,
            "db": "oms",
            "table": "orders",
            "server_id": 1,
            "file": "mysql-bin.000001",
            "pos": position,
            "row": 0
        },
        "op": op,
        "ts_ms": now,
    });
    let value = if wrapped {
        json!({ "schema": { "type": "struct", "name": "oms.oms.orders.Envelope", "optional": false }, "payload": payload })
    } else {
        payload
    };
    serde_json::to_vec(&value).unwrap_or_default()
}

/// The Kafka key Debezium uses: the primary key.
pub fn key(order_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "id": order_id })).unwrap_or_default()
}

/// A row moved to `status` with the fields that status brings, as an OMS
/// would fill them.
pub fn advance(row: &OrderRow, status: &str, now: chrono::DateTime<chrono::Utc>) -> OrderRow {
    let mut next = row.clone();
    next.status = status.to_owned();
    next.updated_at = Some(now.timestamp_millis());
    let ts = |minutes: i64| {
        (now + chrono::Duration::minutes(minutes))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    match status {
        "OUT_FOR_DELIVERY" => {
            next.rider_name = Some("Ravi Kumar".into());
            next.rider_phone = Some("+91 98765 43210".into());
            next.delivery_otp = Some(format!("{:04}", rand::random::<u16>() % 10_000));
            next.eta_start = Some(ts(30));
            next.eta_end = Some(ts(90));
        }
        "DELIVERED" => {
            next.delivery_timestamp = Some(ts(0));
            next.delivery_address_confirmed = Some(1);
            next.attempt_number = Some(next.attempt_number.unwrap_or(0) + 1);
        }
        "DELIVERY_FAILED" => {
            next.failure_reason_code = Some("CUSTOMER_UNAVAILABLE".into());
            next.failure_reason = Some("Customer did not answer the door or the phone".into());
            next.attempt_number = Some(next.attempt_number.unwrap_or(0) + 1);
        }
        "RETURN_INITIATED" => {
            next.return_id = Some(format!("RET-{}", row.id));
            next.return_reason_code = Some("SIZE_MISMATCH".into());
            next.return_reason = Some("Ordered size does not fit".into());
            next.return_condition_flags = Some(r#"["unopened","tags_attached"]"#.into());
        }
        "RETURN_PICKED_UP" => next.pickup_timestamp = Some(ts(0)),
        _ => {}
    }
    next
}

/// A fresh order in `CONFIRMED`.
pub fn new_order(id: &str, partner_id: &str) -> OrderRow {
    OrderRow {
        id: id.to_owned(),
        partner_id: partner_id.to_owned(),
        status: "CONFIRMED".into(),
        updated_at: Some(chrono::Utc::now().timestamp_millis()),
        merchant_order_ref: Some(format!("M-{id}")),
        customer_id: Some(format!("CUST-{id}")),
        ..OrderRow::default()
    }
}

/// The row as a JSON value (for tests that tamper with it).
pub fn row_value(row: &OrderRow) -> Value {
    serde_json::to_value(row).unwrap_or(Value::Null)
}
