-- Schema v2: per-order event sequence numbers, v2 as the version new endpoints
-- pin by default, and what the dispatch service answered for each event.

-- The last sequence number given to an event of each order. Incremented in
-- the ingest transaction that stores the event, so numbers follow the order
-- of the CDC records (one order's records share a partition).
CREATE TABLE order_sequences (
    order_id       text PRIMARY KEY,
    last_sequence  bigint NOT NULL CHECK (last_sequence > 0),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE endpoints ALTER COLUMN schema_version SET DEFAULT 'v2';

-- NULL when the event type does not ask the dispatch service (or it is not
-- configured); 'missed' events went out without the rider, OTP and window.
ALTER TABLE events ADD COLUMN dispatch_outcome text
    CHECK (dispatch_outcome IN ('enriched', 'not_found', 'missed'));
CREATE INDEX events_dispatch_missed ON events (ingested_at) WHERE dispatch_outcome = 'missed';
