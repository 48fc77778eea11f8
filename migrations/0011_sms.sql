-- Templated SMS to the end customers of partners with built-in tracking:
-- each partner's DLT-registered template per event type, the durable outbox
-- written in the ingest transaction, and the numbers that replied STOP.

CREATE TABLE sms_templates (
    partner_id       text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    event_type       text NOT NULL,
    enabled          boolean NOT NULL DEFAULT true,
    -- The text with named {variables}, and the same text as registered on
    -- DLT with {#var#} in their place; checked equal when saved.
    body             text NOT NULL,
    dlt_body         text NOT NULL,
    dlt_template_id  text NOT NULL,
    sender_header    text NOT NULL,
    entity_id        text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, event_type)
);

CREATE TABLE sms_outbox (
    id               bigserial PRIMARY KEY,
    event_id         text NOT NULL,
    partner_id       text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    order_id         text NOT NULL,
    event_type       text NOT NULL,
    -- The customer's number (E.164): the one column that holds it, cleared
    -- once the SMS is final. The hash stays, for STOP and deduplication.
    phone            text,
    phone_hash       bytea,
    phone_masked     text,
    state            text NOT NULL CHECK (state IN (
                         'pending', 'sending', 'accepted', 'delivered', 'failed', 'expired',
                         'opted_out', 'no_phone', 'invalid_phone', 'disabled')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- While 'sending': when another sender may take it over (its sender died).
    lease_until      timestamptz,
    last_error       text,
    parts            integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (event_id, phone_hash)
);
CREATE INDEX sms_outbox_due ON sms_outbox (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX sms_outbox_order ON sms_outbox (partner_id, order_id, id);
CREATE INDEX sms_outbox_phone ON sms_outbox (phone_hash, id);

CREATE TABLE sms_opt_outs (
    partner_id    text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    phone_hash    bytea NOT NULL,
    opted_out_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, phone_hash)
);
