-- Deliveries and attempts are written for every webhook sent. Their foreign
-- keys were checked row by row: an index probe and a row lock (with its WAL
-- record) per delivery and per attempt, through a plan each connection caches
-- the first time, when the tables may still be nearly empty, and keeps using as
-- they grow. The store writes these rows consistent by construction
-- (deliveries in the statement that stores their event, joined to endpoints it
-- locks; attempts only for deliveries that exist), so the checks go. What the
-- cascades did, these triggers do, once per statement.

ALTER TABLE attempts DROP CONSTRAINT attempts_delivery_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_endpoint_id_fkey;

CREATE FUNCTION trackwire_delete_deliveries_of_endpoints() RETURNS trigger AS $$
BEGIN
    DELETE FROM deliveries d USING gone g WHERE d.endpoint_id = g.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER endpoints_delete_deliveries AFTER DELETE ON endpoints
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION trackwire_delete_deliveries_of_endpoints();

CREATE FUNCTION trackwire_delete_deliveries_of_events() RETURNS trigger AS $$
BEGIN
    DELETE FROM deliveries d USING gone g WHERE d.event_id = g.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER events_delete_deliveries AFTER DELETE ON events
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION trackwire_delete_deliveries_of_events();

CREATE FUNCTION trackwire_delete_attempts_of_deliveries() RETURNS trigger AS $$
BEGIN
    DELETE FROM attempts a USING gone g WHERE a.delivery_id = g.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER deliveries_delete_attempts AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION trackwire_delete_attempts_of_deliveries();

-- Every delivery row is inserted once and updated at least once (its state
-- is in the pending index's predicate, so no update is HOT), and each time
-- every index gets an entry. The event log finds a partner's deliveries
-- through their events (deliveries_event_id_endpoint_id_key leads with
-- event_id), so this index only cost writes.
DROP INDEX deliveries_partner_event;
