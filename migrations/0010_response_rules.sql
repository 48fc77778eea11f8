-- The Standard Webhooks response rules: an endpoint answering 410 Gone is
-- disabled, and why and when is kept until the partner enables it again.
-- Enabling and disabling join the transition log beside the breaker and the
-- at-risk flag.

ALTER TABLE endpoints
    ADD COLUMN disabled_reason text,
    ADD COLUMN disabled_at     timestamptz;

ALTER TABLE endpoint_transitions DROP CONSTRAINT endpoint_transitions_kind_check;
ALTER TABLE endpoint_transitions ADD CONSTRAINT endpoint_transitions_kind_check
    CHECK (kind IN ('breaker', 'at_risk', 'enabled'));
