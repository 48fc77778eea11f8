-- Partners, their endpoints, and the durable delivery log.

CREATE TABLE partners (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE endpoints (
    id              text PRIMARY KEY,
    partner_id      text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    url             text NOT NULL,
    description     text NOT NULL DEFAULT '',
    enabled         boolean NOT NULL DEFAULT true,
    schema_version  text NOT NULL DEFAULT 'v1',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_partner ON endpoints (partner_id);

-- A partner has at most five endpoints. The partner row is locked first so that
-- two concurrent inserts cannot both see four.
CREATE FUNCTION trackwire_endpoint_limit() RETURNS trigger AS $$
BEGIN
    PERFORM 1 FROM partners WHERE id = NEW.partner_id FOR UPDATE;
    IF (SELECT count(*) FROM endpoints WHERE partner_id = NEW.partner_id) >= 5 THEN
        RAISE EXCEPTION 'partner % already has 5 endpoints', NEW.partner_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'endpoints_per_partner_limit';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER endpoints_per_partner_limit BEFORE INSERT ON endpoints
    FOR EACH ROW EXECUTE FUNCTION trackwire_endpoint_limit();

CREATE TABLE endpoint_event_types (
    endpoint_id  text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    event_type   text NOT NULL CHECK (event_type IN ('order_confirmed', 'out_for_delivery', 'delivered',
                                                     'delivery_failed', 'return_initiated', 'return_picked_up')),
    PRIMARY KEY (endpoint_id, event_type)
);

-- Signing secrets. The current one has no expiry; during a rotation the old one
-- keeps signing until `expires_at`.
CREATE TABLE endpoint_secrets (
    id           bigserial PRIMARY KEY,
    endpoint_id  text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    secret       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz
);
CREATE INDEX endpoint_secrets_endpoint ON endpoint_secrets (endpoint_id);

CREATE TABLE events (
    id                text PRIMARY KEY,
    partner_id        text NOT NULL,
    order_id          text NOT NULL,
    event_type        text NOT NULL,
    occurred_at       timestamptz NOT NULL,
    is_test           boolean NOT NULL DEFAULT false,
    data              jsonb NOT NULL,
    source_topic      text,
    source_partition  integer,
    source_offset     bigint,
    -- When the CDC record was appended to Kafka: the start of end-to-end latency.
    source_appended_at timestamptz,
    ingested_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_partner_recent ON events (partner_id, ingested_at DESC);

CREATE TABLE deliveries (
    id               bigserial PRIMARY KEY,
    event_id         text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    endpoint_id      text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    partner_id       text NOT NULL,
    order_id         text NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    last_error       text,
    UNIQUE (event_id, endpoint_id)
);
-- The endpoint actors page through their pending work in id order.
CREATE INDEX deliveries_pending ON deliveries (endpoint_id, id) WHERE state = 'pending';

CREATE TABLE attempts (
    id                bigserial PRIMARY KEY,
    delivery_id       bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt_number    integer NOT NULL,
    trigger           text NOT NULL CHECK (trigger IN ('automatic', 'manual')),
    started_at        timestamptz NOT NULL,
    latency_ms        integer NOT NULL,
    http_status       integer,
    -- A stable code (ok, http_status, timeout, connect, tls, ...); the detail is for operators.
    error_class       text,
    error_detail      text,
    response_excerpt  text
);
CREATE INDEX attempts_delivery ON attempts (delivery_id);

-- CDC records that could not be understood, kept whole so nothing is lost.
CREATE TABLE quarantine (
    id           bigserial PRIMARY KEY,
    topic        text NOT NULL,
    partition    integer NOT NULL,
    "offset"     bigint NOT NULL,
    key          bytea,
    payload      bytea,
    error        text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, partition, "offset")
);

-- Every running trackwire follows endpoint changes through this channel; the
-- payload is the endpoint id.
CREATE FUNCTION trackwire_notify_endpoint() RETURNS trigger AS $$
DECLARE
    changed text;
BEGIN
    IF TG_TABLE_NAME = 'endpoints' THEN
        changed := COALESCE(NEW.id, OLD.id);
    ELSE
        changed := COALESCE(NEW.endpoint_id, OLD.endpoint_id);
    END IF;
    PERFORM pg_notify('trackwire_endpoints', changed);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER endpoints_notify AFTER INSERT OR UPDATE OR DELETE ON endpoints
    FOR EACH ROW EXECUTE FUNCTION trackwire_notify_endpoint();
CREATE TRIGGER endpoint_event_types_notify AFTER INSERT OR UPDATE OR DELETE ON endpoint_event_types
    FOR EACH ROW EXECUTE FUNCTION trackwire_notify_endpoint();
CREATE TRIGGER endpoint_secrets_notify AFTER INSERT OR UPDATE OR DELETE ON endpoint_secrets
    FOR EACH ROW EXECUTE FUNCTION trackwire_notify_endpoint();
-- A suspended or reactivated partner changes which endpoints receive events.
CREATE FUNCTION trackwire_notify_partner() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('trackwire_endpoints', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER partners_notify AFTER UPDATE OF status ON partners
    FOR EACH ROW EXECUTE FUNCTION trackwire_notify_partner();
