-- Several trackwire processes share the endpoints: each endpoint belongs to a
-- shard (a hash of its id), and each shard to one live process at a time.

CREATE TABLE cluster_members (
    id            text PRIMARY KEY,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shard_leases (
    shard       integer PRIMARY KEY,
    owner       text,
    expires_at  timestamptz NOT NULL DEFAULT '-infinity',
    -- Bumped on every change of owner, for the record.
    epoch       bigint NOT NULL DEFAULT 0
);
