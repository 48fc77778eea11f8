-- The self-serve portal: operator-issued sign-in links and browser sessions.
-- Like API keys, both are stored only as SHA-256 digests of their tokens.

-- Single-use sign-in links (POST /api/v1/partners/{id}/portal-link).
CREATE TABLE portal_links (
    token_hash  bytea PRIMARY KEY,
    partner_id  text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    -- Set when the link is redeemed; a used link signs nobody in again.
    used_at     timestamptz
);

-- Portal sessions, one partner each. A session opened with an API key ends
-- when that key is revoked.
CREATE TABLE portal_sessions (
    token_hash  bytea PRIMARY KEY,
    partner_id  text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    api_key_id  text REFERENCES api_keys (id) ON DELETE CASCADE,
    -- Synchronizer token every form of the session must carry.
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX portal_sessions_expiry ON portal_sessions (expires_at);

-- The portal's health chart reads the last 24 hours of attempts.
CREATE INDEX attempts_started ON attempts (started_at);
