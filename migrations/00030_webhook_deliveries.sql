-- +goose Up
-- Webhook deliveries (issue 21): one row per (endpoint, event), written
-- by a trigger on events in the transaction that wrote the event (the
-- outbox continues: an event committed is a delivery owed). River jobs
-- deliver them (package deliveries): one lane per endpoint and watch-list
-- entry, oldest first, so an address's events reach an endpoint in order.
CREATE TABLE webhook_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    user_id bigint NOT NULL,
    event_id bigint NOT NULL,
    -- The lane: deliveries of one entry to one endpoint go in id order.
    entry_id bigint NOT NULL,
    event_type text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- The body as first sent: every retry sends the same bytes under the
    -- same webhook-id.
    payload bytea,
    last_attempt_at timestamptz,
    last_status_code integer,
    last_latency_ms integer,
    last_error text CHECK (char_length(last_error) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    FOREIGN KEY (user_id, event_id) REFERENCES events (user_id, id) ON DELETE CASCADE
);

-- The delivery log of an endpoint, newest first.
CREATE INDEX webhook_deliveries_webhook_id_id_idx ON webhook_deliveries (webhook_id, id);
-- The dispatcher's due lanes, and a lane's head.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_lane_idx ON webhook_deliveries (webhook_id, entry_id, id) WHERE status = 'pending';

COMMENT ON TABLE webhook_deliveries IS 'Events owed to webhook endpoints and what each attempt got (migration 00030).';

-- When the endpoint last took a delivery: one failing for days is
-- disabled.
ALTER TABLE webhooks ADD COLUMN last_success_at timestamptz;

-- +goose StatementBegin
CREATE FUNCTION events_to_webhooks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, user_id, event_id, entry_id, event_type)
    SELECT w.id, n.user_id, n.id, n.entry_id, n.type
    FROM new_rows n
    JOIN webhooks w ON w.user_id = n.user_id AND w.enabled
                   AND (cardinality(w.event_types) = 0 OR n.type = ANY (w.event_types))
    ORDER BY w.id, n.id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER events_to_webhooks AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_to_webhooks();

-- +goose Down
DROP TRIGGER events_to_webhooks ON events;
DROP FUNCTION events_to_webhooks();
ALTER TABLE webhooks DROP COLUMN last_success_at;
DROP TABLE webhook_deliveries;
