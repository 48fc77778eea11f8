-- Built-in tracking for partners without engineers: a per-partner toggle
-- and, for partners with it on, each order's current status, its timeline of
-- what a customer may see, and the token of its public tracking page. Rows
-- are written in the ingest transaction that stores the events, so neither
-- the dashboard nor the page can show a status the event log does not have.

ALTER TABLE partners ADD COLUMN built_in_tracking boolean NOT NULL DEFAULT false;

CREATE TABLE tracked_orders (
    partner_id          text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    order_id            text NOT NULL,
    -- The public page's key: 128 random bits, base64url. Never derived from
    -- the order id, so pages cannot be enumerated.
    token               text NOT NULL UNIQUE,
    merchant_order_ref  text,
    -- For the merchant's search only; the public page never shows it.
    customer_id         text,
    -- The current status: the event type and OMS status of the order's
    -- latest event (highest sequence), and when it happened.
    event_type          text NOT NULL,
    status              text NOT NULL,
    last_sequence       bigint NOT NULL,
    status_at           timestamptz NOT NULL,
    first_seen_at       timestamptz NOT NULL DEFAULT now(),
    changed_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, order_id)
);
-- The dashboard: newest change first, all orders or one status, paged by
-- (status_at, order_id).
CREATE INDEX tracked_orders_recent ON tracked_orders (partner_id, status_at DESC, order_id DESC);
CREATE INDEX tracked_orders_by_type
    ON tracked_orders (partner_id, event_type, status_at DESC, order_id DESC);
-- Search by merchant reference or customer id (the order id has the key).
CREATE INDEX tracked_orders_ref ON tracked_orders (partner_id, merchant_order_ref);
CREATE INDEX tracked_orders_customer ON tracked_orders (partner_id, customer_id);

-- One row per event of a tracked order, holding only what its customer may
-- see: no OTP, phone, address or customer id is ever copied here.
CREATE TABLE order_timeline (
    event_id             text PRIMARY KEY,
    partner_id           text NOT NULL,
    order_id             text NOT NULL,
    sequence             bigint NOT NULL,
    event_type           text NOT NULL,
    status               text NOT NULL,
    occurred_at          timestamptz NOT NULL,
    eta_start            timestamptz,
    eta_end              timestamptz,
    rider_first_name     text,
    failure_reason_code  text,
    failure_reason       text,
    attempt_number       integer,
    return_reason        text
);
CREATE INDEX order_timeline_order ON order_timeline (partner_id, order_id, sequence);

-- No foreign key to tracked_orders: ingest writes an entry in the statement
-- that writes its order, and a row-by-row check would cost every entry an
-- index probe and a row lock (as 0007 found for deliveries). What the
-- cascade would do, this trigger does, once per statement.
CREATE FUNCTION trackwire_delete_timeline_of_orders() RETURNS trigger AS $$
BEGIN
    DELETE FROM order_timeline t USING gone g
    WHERE t.partner_id = g.partner_id AND t.order_id = g.order_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER tracked_orders_delete_timeline AFTER DELETE ON tracked_orders
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION trackwire_delete_timeline_of_orders();
