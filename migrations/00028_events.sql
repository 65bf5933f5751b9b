-- +goose Up
-- The change feed (GET /v1/events; issue 21): every change a user could
-- act on is an event row, written by triggers in the transaction of the
-- change itself (an outbox), so no event is lost and none outlives a
-- rollback, whichever code path wrote the change (a sync page, a status
-- change by a reorg, a replacement or a drop, a finished sync).
--
-- * Ledger statements (ledger_events_follow) yield transaction.seen,
--   .confirmed, .reorged, .replaced and .dropped, one per (revealed
--   watch-list entry, ledger row): a transaction shared by several users
--   yields one event for each. Then balance.changed for each entry whose
--   address's confirmed or unconfirmed total moved.
-- * A finished sync (sync_states_synced_event) yields address.synced for
--   the entries it reveals, and for every entry when the outcome (done or
--   partial) or the address's ledger changed since the last such event: a
--   periodic re-sync that found nothing new is not news.
-- * An entry not yet revealed (its first sync still running) hears
--   nothing of the address's history until address.synced: a first sync
--   of 100k transactions is one event, not 100k.
-- * The fixtures set cointracker.events to off in their transactions:
--   demo data writes no events.
--
-- Ids count per user (event_counters) and are taken under the counter
-- row's lock, held to commit: a user's events commit in id order, so a
-- reader that saw id n and asks for after=n never misses an event that
-- commits later with a smaller id. A transaction event records the ledger
-- row as it was (the API renders it as a history item); address.synced
-- and balance.changed record the address's totals after the change.
CREATE TABLE event_counters (
    user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_id bigint NOT NULL DEFAULT 0,
    -- Events up to this id were deleted by retention: a cursor before it
    -- has lost events (410 Gone).
    pruned_through bigint NOT NULL DEFAULT 0
);

COMMENT ON TABLE event_counters IS 'Per-user event id counter and retention mark (migration 00028).';

CREATE TABLE events (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id bigint NOT NULL,
    type text NOT NULL CHECK (type IN ('transaction.seen', 'transaction.confirmed', 'transaction.reorged',
        'transaction.replaced', 'transaction.dropped', 'address.synced', 'balance.changed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The user's watch-list entry (user_addresses.id). No foreign key: the
    -- log keeps what happened after the entry is gone.
    entry_id bigint NOT NULL,
    address_id bigint NOT NULL REFERENCES addresses (id) ON DELETE CASCADE,
    -- transaction.*: the ledger row at the event.
    txid bytea CHECK (octet_length(txid) = 32),
    status text CHECK (status IN ('pending', 'confirmed', 'replaced', 'dropped')),
    self_transfer boolean,
    received_sats bigint,
    sent_sats bigint,
    fee_sats bigint,
    fee_share_sats bigint,
    block_height integer,
    block_time timestamptz,
    first_seen timestamptz,
    -- address.synced and balance.changed: the address's totals after it.
    sync_status text CHECK (sync_status IN ('done', 'partial')),
    confirmed_sats bigint,
    unconfirmed_sats bigint,
    total_received_sats bigint,
    total_sent_sats bigint,
    tx_count bigint,
    first_activity timestamptz,
    last_activity timestamptz,
    PRIMARY KEY (user_id, id),
    CHECK ((type LIKE 'transaction.%') = (txid IS NOT NULL AND status IS NOT NULL AND self_transfer IS NOT NULL
        AND received_sats IS NOT NULL AND sent_sats IS NOT NULL AND fee_sats IS NOT NULL
        AND fee_share_sats IS NOT NULL AND first_seen IS NOT NULL)),
    CHECK ((type LIKE 'transaction.%') <> (confirmed_sats IS NOT NULL AND unconfirmed_sats IS NOT NULL
        AND total_received_sats IS NOT NULL AND total_sent_sats IS NOT NULL AND tx_count IS NOT NULL)),
    CHECK ((type = 'address.synced') = (sync_status IS NOT NULL))
);

-- Retention deletes by age.
CREATE INDEX events_created_at_idx ON events (created_at);

COMMENT ON TABLE events IS 'The per-user change feed, written in the transaction of each change (migration 00028).';

-- An event before its id: events_add numbers a statement's drafts.
CREATE TYPE event_draft AS (
    user_id bigint, type text, entry_id bigint, address_id bigint, ord bigint,
    txid bytea, status text, self_transfer boolean, received_sats bigint, sent_sats bigint,
    fee_sats bigint, fee_share_sats bigint, block_height integer, block_time timestamptz,
    first_seen timestamptz, sync_status text, confirmed_sats bigint, unconfirmed_sats bigint,
    total_received_sats bigint, total_sent_sats bigint, tx_count bigint,
    first_activity timestamptz, last_activity timestamptz);

-- events_add numbers drafts per user in ord order after the user's last
-- id, locking the users' counters in user order (so two writers cannot
-- deadlock on them), and wakes the feed's long-polls: NOTIFY is sent at
-- commit, once per user and transaction.
-- +goose StatementBegin
CREATE FUNCTION events_add(drafts event_draft[]) RETURNS void
LANGUAGE sql VOLATILE AS $$
    WITH counts AS (
        SELECT d.user_id, count(*) AS n FROM unnest(drafts) d GROUP BY 1
    ), bumped AS (
        INSERT INTO event_counters AS c (user_id, last_id)
        SELECT user_id, n FROM counts ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET last_id = c.last_id + EXCLUDED.last_id
        RETURNING c.user_id, c.last_id
    ), numbered AS (
        SELECT d.*, b.last_id - n.n + row_number() OVER (PARTITION BY d.user_id ORDER BY d.ord) AS id
        FROM unnest(drafts) d
        JOIN bumped b ON b.user_id = d.user_id
        JOIN counts n ON n.user_id = d.user_id
    ), written AS (
        INSERT INTO events (user_id, id, type, entry_id, address_id, txid, status, self_transfer,
                            received_sats, sent_sats, fee_sats, fee_share_sats, block_height, block_time,
                            first_seen, sync_status, confirmed_sats, unconfirmed_sats,
                            total_received_sats, total_sent_sats, tx_count, first_activity, last_activity)
        SELECT user_id, id, type, entry_id, address_id, txid, status, self_transfer,
               received_sats, sent_sats, fee_sats, fee_share_sats, block_height, block_time,
               first_seen, sync_status, confirmed_sats, unconfirmed_sats,
               total_received_sats, total_sent_sats, tx_count, first_activity, last_activity
        FROM numbered
        RETURNING user_id
    )
    SELECT pg_notify('cointracker_events', u.user_id::text)
    FROM (SELECT DISTINCT user_id FROM written) u;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION events_add(event_draft[]) IS 'Numbers and writes a statement''s events, and wakes the feed (migration 00028).';

-- events_enabled is false in a transaction that turned events off (the
-- fixtures: SELECT set_config('cointracker.events', 'off', true)).
-- +goose StatementBegin
CREATE FUNCTION events_enabled() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('cointracker.events', true), '') <> 'off'
$$;
-- +goose StatementEnd

-- transaction_event_type names the event a ledger row's change is: none
-- (NULL) when nothing a client acts on changed. A row first written
-- pending is seen, first written confirmed (a payment that confirmed
-- between two syncs) confirmed; a confirmed row moved to another block is
-- confirmed again; one back from replaced or dropped is seen again.
-- +goose StatementBegin
CREATE FUNCTION transaction_event_type(old_status text, old_height integer, new_status text, new_height integer)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN old_status IS NOT DISTINCT FROM new_status
             AND (new_status <> 'confirmed' OR old_height IS NOT DISTINCT FROM new_height) THEN NULL
        WHEN new_status = 'confirmed' THEN 'transaction.confirmed'
        WHEN new_status = 'pending' AND old_status = 'confirmed' THEN 'transaction.reorged'
        WHEN new_status = 'pending' THEN 'transaction.seen'
        WHEN new_status = 'replaced' THEN 'transaction.replaced'
        WHEN new_status = 'dropped' THEN 'transaction.dropped'
    END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ledger_events_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    drafts event_draft[];
BEGIN
    IF NOT events_enabled() THEN
        RETURN NULL;
    END IF;
    -- The changed rows with their event type. A row first written
    -- replaced or dropped (never seen by this service) is no event.
    IF TG_OP = 'INSERT' THEN
        drafts := ARRAY(
            SELECT ROW(ua.user_id, transaction_event_type(NULL, NULL, n.status, n.block_height), ua.id,
                       n.address_id,
                       row_number() OVER (ORDER BY n.sort_time, n.sort_height, n.txid, n.address_id),
                       n.txid, n.status,
                       EXISTS (SELECT 1 FROM ledger_other_tracked(ua.user_id, n.transaction_id, n.address_id)),
                       n.received_sats, n.sent_sats, n.fee_sats, n.fee_share_sats, n.block_height,
                       n.block_time, n.first_seen,
                       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::event_draft
            FROM new_rows n
            JOIN user_addresses ua ON ua.address_id = n.address_id AND ua.revealed
            WHERE n.status IN ('pending', 'confirmed'));
    ELSIF TG_OP = 'UPDATE' THEN
        drafts := ARRAY(
            SELECT ROW(ua.user_id, transaction_event_type(o.status, o.block_height, n.status, n.block_height), ua.id,
                       n.address_id,
                       row_number() OVER (ORDER BY n.sort_time, n.sort_height, n.txid, n.address_id),
                       n.txid, n.status,
                       EXISTS (SELECT 1 FROM ledger_other_tracked(ua.user_id, n.transaction_id, n.address_id)),
                       n.received_sats, n.sent_sats, n.fee_sats, n.fee_share_sats, n.block_height,
                       n.block_time, n.first_seen,
                       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::event_draft
            FROM old_rows o
            JOIN new_rows n USING (transaction_id, address_id)
            JOIN user_addresses ua ON ua.address_id = n.address_id AND ua.revealed
            WHERE transaction_event_type(o.status, o.block_height, n.status, n.block_height) IS NOT NULL);
    END IF;
    -- A deleted row (its address or transaction deleted) is no event: the
    -- entry that watched it is gone with it.
    IF cardinality(drafts) > 0 THEN
        PERFORM events_add(drafts);
    END IF;
    -- The addresses whose counted rows changed: their balance moved.
    IF TG_OP = 'INSERT' THEN
        PERFORM balance_events_add(ARRAY(
            SELECT DISTINCT n.address_id FROM new_rows n WHERE n.status IN ('pending', 'confirmed')));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM balance_events_add(ARRAY(
            SELECT DISTINCT n.address_id
            FROM old_rows o JOIN new_rows n USING (transaction_id, address_id)
            WHERE (o.status IN ('pending', 'confirmed') OR n.status IN ('pending', 'confirmed'))
              AND (o.status, o.net_sats) IS DISTINCT FROM (n.status, n.net_sats)));
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION ledger_events_follow() IS 'Writes the transaction and balance events of a ledger statement (migration 00028).';

-- balance_events_add writes balance.changed for each revealed entry of the
-- addresses whose counted rows a statement changed, with the totals the
-- aggregates trigger (ledger_aggregates_*, which fires first: triggers of
-- one event fire in name order) has just kept.
-- +goose StatementBegin
CREATE FUNCTION balance_events_add(address_ids bigint[]) RETURNS void
LANGUAGE sql VOLATILE AS $$
    SELECT events_add(ARRAY(
        SELECT ROW(ua.user_id, 'balance.changed', ua.id, ua.address_id, ua.id,
                   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                   coalesce(t.confirmed_sats, 0), coalesce(t.unconfirmed_sats, 0),
                   coalesce(t.received_sats, 0), coalesce(t.sent_sats, 0), coalesce(t.tx_count, 0),
                   t.first_activity, t.last_activity)::event_draft
        FROM user_addresses ua
        LEFT JOIN address_totals t ON t.address_id = ua.address_id
        WHERE ua.address_id = ANY (address_ids) AND ua.revealed))
    WHERE cardinality(address_ids) > 0;
$$;
-- +goose StatementEnd

CREATE TRIGGER ledger_events_insert AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_events_follow();
CREATE TRIGGER ledger_events_update AFTER UPDATE ON ledger_entries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_events_follow();

-- What the last address.synced said, to tell news from a repeat.
ALTER TABLE sync_states
    ADD COLUMN event_status text,
    ADD COLUMN event_stamp bigint;

-- A finished sync (done or partial) is news for an entry it reveals, and
-- for every entry when its outcome or the address's ledger (its stamp,
-- migration 00021) changed since the last address.synced. It runs BEFORE
-- the row is written, and so before sync_states_reveal: the entries it is
-- about to reveal are the unrevealed ones.
-- +goose StatementBegin
CREATE FUNCTION sync_states_synced_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    stamp bigint := (SELECT s.changed_seq FROM address_stamps s WHERE s.address_id = NEW.address_id);
    news boolean;
BEGIN
    IF NOT events_enabled() THEN
        RETURN NEW;
    END IF;
    news := (TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.event_status
             OR stamp IS DISTINCT FROM OLD.event_stamp);
    PERFORM events_add(ARRAY(
        SELECT ROW(ua.user_id, 'address.synced', ua.id, ua.address_id, ua.id,
                   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NEW.status,
                   coalesce(t.confirmed_sats, 0), coalesce(t.unconfirmed_sats, 0),
                   coalesce(t.received_sats, 0), coalesce(t.sent_sats, 0), coalesce(t.tx_count, 0),
                   t.first_activity, t.last_activity)::event_draft
        FROM user_addresses ua
        LEFT JOIN address_totals t ON t.address_id = ua.address_id
        WHERE ua.address_id = NEW.address_id AND (news OR NOT ua.revealed)));
    NEW.event_status := NEW.status;
    NEW.event_stamp := stamp;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER sync_states_synced_event BEFORE INSERT OR UPDATE OF finished_at ON sync_states
    FOR EACH ROW WHEN (NEW.finished_at IS NOT NULL AND NEW.status IN ('done', 'partial'))
    EXECUTE FUNCTION sync_states_synced_event();

-- +goose Down
DROP TRIGGER sync_states_synced_event ON sync_states;
DROP FUNCTION sync_states_synced_event();
ALTER TABLE sync_states DROP COLUMN event_status, DROP COLUMN event_stamp;
DROP TRIGGER ledger_events_insert ON ledger_entries;
DROP TRIGGER ledger_events_update ON ledger_entries;
DROP FUNCTION ledger_events_follow();
DROP FUNCTION balance_events_add(bigint[]);
DROP FUNCTION transaction_event_type(text, integer, text, integer);
DROP FUNCTION events_enabled();
DROP FUNCTION events_add(event_draft[]);
DROP TYPE event_draft;
DROP TABLE events;
DROP TABLE event_counters;
