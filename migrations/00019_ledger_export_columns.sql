-- +goose Up
-- The CSV export reads a user's history as one ordered index range per
-- watch-list entry, merged in order (db.HistoryEach). Every column a row
-- shows then has to be in ledger_entries_history_idx: a probe into
-- transactions per row (the fee) costs more than the rest of the row, and
-- caps an export at a fraction of what the index range can deliver. The
-- ledger already copies the transaction's status, block and first-seen
-- time (transactions_ledger_sync); it now copies the fee as well, and the
-- index carries the first-seen time and the fee, so history pages and the
-- export never read transactions.
ALTER TABLE ledger_entries ADD COLUMN fee_sats bigint NOT NULL DEFAULT 0;

COMMENT ON COLUMN ledger_entries.fee_sats IS 'The transaction''s whole fee in satoshis, copied from transactions.fee_sats.';

-- The amounts do not change, so the aggregates' trigger has nothing to
-- follow while the backfill rewrites every row.
ALTER TABLE ledger_entries DISABLE TRIGGER ledger_aggregates_update;
UPDATE ledger_entries le SET fee_sats = t.fee_sats
FROM transactions t
WHERE t.id = le.transaction_id AND t.fee_sats <> 0;
ALTER TABLE ledger_entries ENABLE TRIGGER ledger_aggregates_update;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_entries_follow_transaction() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_entries
    SET status = NEW.status,
        block_height = NEW.block_height,
        block_time = NEW.block_time,
        first_seen = NEW.first_seen,
        fee_sats = NEW.fee_sats
    WHERE transaction_id = NEW.id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION ledger_entries_follow_transaction() IS 'Copies a transaction''s status, block, first-seen time and fee onto its ledger entries.';

DROP TRIGGER transactions_ledger_sync ON transactions;
CREATE TRIGGER transactions_ledger_sync
    AFTER UPDATE OF status, block_height, block_time, first_seen, fee_sats ON transactions
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.block_height IS DISTINCT FROM NEW.block_height
        OR OLD.block_time IS DISTINCT FROM NEW.block_time
        OR OLD.first_seen IS DISTINCT FROM NEW.first_seen
        OR OLD.fee_sats IS DISTINCT FROM NEW.fee_sats)
    EXECUTE FUNCTION ledger_entries_follow_transaction();

DROP INDEX ledger_entries_history_idx;
CREATE INDEX ledger_entries_history_idx ON ledger_entries
    (address_id, unconfirmed, sort_time, sort_height, txid)
    INCLUDE (status, received_sats, sent_sats, net_sats, transaction_id, fee_share_sats, has_siblings,
             first_seen, fee_sats);

-- +goose Down
DROP INDEX ledger_entries_history_idx;
CREATE INDEX ledger_entries_history_idx ON ledger_entries
    (address_id, unconfirmed, sort_time, sort_height, txid)
    INCLUDE (status, received_sats, sent_sats, net_sats, transaction_id, fee_share_sats, has_siblings);

DROP TRIGGER transactions_ledger_sync ON transactions;
CREATE TRIGGER transactions_ledger_sync
    AFTER UPDATE OF status, block_height, block_time, first_seen ON transactions
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.block_height IS DISTINCT FROM NEW.block_height
        OR OLD.block_time IS DISTINCT FROM NEW.block_time
        OR OLD.first_seen IS DISTINCT FROM NEW.first_seen)
    EXECUTE FUNCTION ledger_entries_follow_transaction();

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_entries_follow_transaction() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_entries
    SET status = NEW.status,
        block_height = NEW.block_height,
        block_time = NEW.block_time,
        first_seen = NEW.first_seen
    WHERE transaction_id = NEW.id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION ledger_entries_follow_transaction() IS 'Copies a transaction''s status and block onto its ledger entries.';

ALTER TABLE ledger_entries DROP COLUMN fee_sats;
