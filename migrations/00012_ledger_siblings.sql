-- +goose Up
-- has_siblings: the entry's transaction also has ledger entries at other
-- addresses (tracked by anyone). A history row is a "self" transfer when
-- one of those addresses is on the same user's watch-list, which takes a
-- probe of the transaction's entries and then of the watch-list per row;
-- a direction filter judges every candidate row that way, and most
-- transactions touch a single tracked address. With the flag in the
-- history index, those rows skip the probes (a page filtered by direction
-- checked 551 candidates for 129 with siblings on the bench data).
--
-- It may be true without siblings (after a reorg or an address's removal
-- deletes one), which costs a probe; it is never false with siblings.
ALTER TABLE ledger_entries ADD COLUMN has_siblings boolean NOT NULL DEFAULT false;

UPDATE ledger_entries le SET has_siblings = true
WHERE EXISTS (SELECT 1 FROM ledger_entries o
              WHERE o.transaction_id = le.transaction_id AND o.address_id <> le.address_id);

COMMENT ON COLUMN ledger_entries.has_siblings IS
    'The transaction has ledger entries at other addresses (may be stale true, never stale false).';

-- +goose StatementBegin
CREATE FUNCTION ledger_entries_mark_siblings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Sessions inserting entries of the same transaction take turns here,
    -- and the UPDATE below starts after the previous one committed: it
    -- sees that session's entries, so two siblings inserted at once cannot
    -- both miss each other. The locks are held to commit, one per bucket
    -- of transaction ids (256 buckets, so a batch of thousands stays within
    -- the lock table), taken in bucket order so two batches cannot deadlock.
    PERFORM pg_advisory_xact_lock(1818584167, bucket)
    FROM (SELECT DISTINCT (transaction_id % 256)::integer AS bucket FROM inserted ORDER BY 1) buckets;
    UPDATE ledger_entries le SET has_siblings = true
    WHERE le.transaction_id IN (SELECT transaction_id FROM inserted)
      AND NOT le.has_siblings
      AND EXISTS (SELECT 1 FROM ledger_entries o
                  WHERE o.transaction_id = le.transaction_id AND o.address_id <> le.address_id);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION ledger_entries_mark_siblings() IS 'Sets has_siblings on the entries of transactions that gained an entry.';

CREATE TRIGGER ledger_entries_siblings
    AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT
    EXECUTE FUNCTION ledger_entries_mark_siblings();

-- History pages read only the index (see 00006): it carries the flag too.
DROP INDEX ledger_entries_history_idx;
CREATE INDEX ledger_entries_history_idx ON ledger_entries
    (address_id, unconfirmed, sort_time, sort_height, txid)
    INCLUDE (status, received_sats, sent_sats, net_sats, transaction_id, fee_share_sats, has_siblings);

-- +goose Down
DROP INDEX ledger_entries_history_idx;
CREATE INDEX ledger_entries_history_idx ON ledger_entries
    (address_id, unconfirmed, sort_time, sort_height, txid)
    INCLUDE (status, received_sats, sent_sats, net_sats, transaction_id, fee_share_sats);
DROP TRIGGER ledger_entries_siblings ON ledger_entries;
DROP FUNCTION ledger_entries_mark_siblings();
ALTER TABLE ledger_entries DROP COLUMN has_siblings;
