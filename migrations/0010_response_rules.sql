-- Standard Webhooks delivery options.
--
-- The response rules: an endpoint answering 410 Gone is disabled, and why
-- and when is kept until the partner enables it again. Enabling and
-- disabling join the transition log beside the breaker and the at-risk flag.
--
-- Asymmetric signatures: an endpoint signs with HMAC (`whsec_` secrets, the
-- default) or ed25519 (`whsk_` keys in endpoint_secrets), chosen at creation.

ALTER TABLE endpoints
    ADD COLUMN disabled_reason text,
    ADD COLUMN disabled_at     timestamptz;

ALTER TABLE endpoint_transitions DROP CONSTRAINT endpoint_transitions_kind_check;
ALTER TABLE endpoint_transitions ADD CONSTRAINT endpoint_transitions_kind_check
    CHECK (kind IN ('breaker', 'at_risk', 'enabled'));

ALTER TABLE endpoints ADD COLUMN signing_scheme text NOT NULL DEFAULT 'hmac'
    CHECK (signing_scheme IN ('hmac', 'ed25519'));
