-- Circuit breaker, ACK rate and at-risk flag per endpoint, and the retry
-- budget a delivery has spent (a failed half-open probe does not spend it).

ALTER TABLE deliveries ADD COLUMN charged_failures integer NOT NULL DEFAULT 0;

CREATE TABLE endpoint_health (
    endpoint_id      text PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    breaker_state    text NOT NULL DEFAULT 'closed' CHECK (breaker_state IN ('closed', 'open', 'half_open')),
    breaker_since    timestamptz NOT NULL DEFAULT now(),
    -- Rolling ACK rate over `health.ack_window`; NULL with no attempts.
    ack_rate         double precision,
    window_attempts  bigint NOT NULL DEFAULT 0,
    window_acked     bigint NOT NULL DEFAULT 0,
    at_risk          boolean NOT NULL DEFAULT false,
    at_risk_reason   text,
    at_risk_since    timestamptz,
    last_success_at  timestamptz,
    last_failure_at  timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Every breaker and at-risk transition, once.
CREATE TABLE endpoint_transitions (
    id           bigserial PRIMARY KEY,
    endpoint_id  text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('breaker', 'at_risk')),
    from_state   text NOT NULL,
    to_state     text NOT NULL,
    reason       text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoint_transitions_recent ON endpoint_transitions (endpoint_id, at DESC);
