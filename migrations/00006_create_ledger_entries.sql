-- +goose Up
-- One row per (address, transaction): what the transaction did to the
-- address. Amounts are integer satoshis.
--
-- The transaction's ordering columns (txid, status, block height and time,
-- first seen) are copied here so that one index range scan serves a keyset
-- page of an address's history without touching transactions. The upserts
-- copy them on insert and the trigger below keeps them in step when a
-- transaction confirms, is reorged, replaced or dropped.
CREATE TABLE ledger_entries (
    address_id bigint NOT NULL REFERENCES addresses (id) ON DELETE CASCADE,
    transaction_id bigint NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
    -- Sum of the transaction's outputs paying this address.
    received_sats bigint NOT NULL CHECK (received_sats BETWEEN 0 AND 2100000000000000),
    -- Sum of the transaction's inputs spending this address's outputs.
    sent_sats bigint NOT NULL CHECK (sent_sats BETWEEN 0 AND 2100000000000000),
    -- The effect on the address's balance.
    net_sats bigint NOT NULL GENERATED ALWAYS AS (received_sats - sent_sats) STORED,
    txid bytea NOT NULL CHECK (octet_length(txid) = 32),
    status text NOT NULL
        CHECK (status IN ('pending', 'confirmed', 'replaced', 'dropped')),
    block_height integer,
    block_time timestamptz,
    first_seen timestamptz NOT NULL,
    -- Sort keys: unconfirmed rows (pending, replaced, dropped) sort by first
    -- seen ahead of confirmed rows, which sort by block time then height.
    -- They are never null, so row comparisons in keyset predicates work.
    unconfirmed boolean NOT NULL GENERATED ALWAYS AS (block_height IS NULL) STORED,
    sort_time timestamptz NOT NULL GENERATED ALWAYS AS (coalesce(block_time, first_seen)) STORED,
    sort_height integer NOT NULL GENERATED ALWAYS AS (coalesce(block_height, 0)) STORED,
    -- Transaction first: batches arrive in transaction order, so inserts
    -- append to the index, and the key also serves the fan-out from a
    -- transaction to the addresses it touches. Lookups by address use
    -- ledger_entries_history_idx, which starts with address_id.
    PRIMARY KEY (transaction_id, address_id),
    CONSTRAINT ledger_entries_amount_check CHECK (received_sats > 0 OR sent_sats > 0)
);

-- Serves an address's history in either order (newest first scans it
-- backwards) with keyset pagination, and its balance sums, as index-only
-- scans: the amounts, status and transaction id are included, so a page
-- reads the heap only for the rows it returns.
CREATE INDEX ledger_entries_history_idx ON ledger_entries
    (address_id, unconfirmed, sort_time, sort_height, txid)
    INCLUDE (status, received_sats, sent_sats, net_sats, transaction_id);

COMMENT ON TABLE ledger_entries IS 'Per-address effect of each transaction, in satoshis.';

-- +goose StatementBegin
CREATE FUNCTION ledger_entries_follow_transaction() RETURNS trigger
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

CREATE TRIGGER transactions_ledger_sync
    AFTER UPDATE OF status, block_height, block_time, first_seen ON transactions
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.block_height IS DISTINCT FROM NEW.block_height
        OR OLD.block_time IS DISTINCT FROM NEW.block_time
        OR OLD.first_seen IS DISTINCT FROM NEW.first_seen)
    EXECUTE FUNCTION ledger_entries_follow_transaction();

-- +goose Down
DROP TRIGGER transactions_ledger_sync ON transactions;
DROP FUNCTION ledger_entries_follow_transaction();
DROP TABLE ledger_entries;
