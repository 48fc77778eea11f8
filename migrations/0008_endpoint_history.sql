-- Deleting an endpoint keeps its delivery history: its deliveries and their
-- attempts stay in the event log, the endpoint shown as deleted, until the
-- events themselves are removed. What the log needs of the endpoint (where it
-- pointed, the version it received) is kept here.
CREATE TABLE deleted_endpoints (
    id              text PRIMARY KEY,
    partner_id      text NOT NULL,
    url             text NOT NULL,
    schema_version  text NOT NULL,
    deleted_at      timestamptz NOT NULL DEFAULT now()
);

DROP TRIGGER endpoints_delete_deliveries ON endpoints;
DROP FUNCTION trackwire_delete_deliveries_of_endpoints();

-- Deliveries still waiting are closed: nothing will ever send them.
CREATE FUNCTION trackwire_keep_history_of_endpoints() RETURNS trigger AS $$
BEGIN
    INSERT INTO deleted_endpoints (id, partner_id, url, schema_version)
        SELECT id, partner_id, url, schema_version FROM gone
        ON CONFLICT (id) DO NOTHING;
    UPDATE deliveries d
       SET state = 'dead', finished_at = now(), last_error = 'endpoint deleted'
      FROM gone g
     WHERE d.endpoint_id = g.id AND d.state = 'pending';
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER endpoints_keep_history AFTER DELETE ON endpoints
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION trackwire_keep_history_of_endpoints();

-- A deleted endpoint is forgotten with its last delivery.
CREATE FUNCTION trackwire_forget_deleted_endpoints() RETURNS trigger AS $$
BEGIN
    DELETE FROM deleted_endpoints x
     WHERE x.id IN (SELECT g.endpoint_id FROM gone g)
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.endpoint_id = x.id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER deliveries_forget_deleted_endpoints AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION trackwire_forget_deleted_endpoints();
