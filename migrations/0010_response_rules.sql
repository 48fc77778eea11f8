-- Standard Webhooks delivery options.
--
-- The response rules: an endpoint answering 410 Gone is disabled, and why
-- and when is kept until the partner enables it again. Enabling and
-- disabling join the transition log beside the breaker and the at-risk flag.
--
-- A rate limit the partner sets per endpoint: attempts a second and a
-- burst, both or neither (NULL: no limit but the process-wide ones).
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

ALTER TABLE endpoints
    ADD COLUMN rate_limit_per_second integer CHECK (rate_limit_per_second BETWEEN 1 AND 10000),
    ADD COLUMN rate_limit_burst      integer CHECK (rate_limit_burst BETWEEN 1 AND 10000),
    ADD CONSTRAINT endpoints_rate_limit_whole
        CHECK ((rate_limit_per_second IS NULL) = (rate_limit_burst IS NULL));
