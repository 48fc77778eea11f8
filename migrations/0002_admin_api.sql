-- Partner API keys, and the flag that marks a delivery as manually retried.

-- Keys are stored as the SHA-256 of the whole key: the key itself is shown once,
-- when it is issued. `prefix` is its first characters, for people to tell keys apart.
CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    partner_id  text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    key_hash    bytea NOT NULL UNIQUE,
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_partner ON api_keys (partner_id);

-- Set when a person asks for a delivery to be tried again; the endpoint actor
-- records its next attempt as `manual` and clears the flag.
ALTER TABLE deliveries ADD COLUMN manual_retry_requested boolean NOT NULL DEFAULT false;

-- The event log filters a partner's deliveries by state.
CREATE INDEX deliveries_partner_event ON deliveries (partner_id, event_id);
