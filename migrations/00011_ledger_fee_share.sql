-- +goose Up
-- The part of a transaction's fee each address paid: the fee split
-- between the addresses whose outputs the inputs spend, in proportion to
-- the value each brought in (chain.Tx.FeeShare). Zero for an address that
-- only received. It is part of sent_sats, which counts inputs whole.
ALTER TABLE ledger_entries
    ADD COLUMN fee_share_sats bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT ledger_entries_fee_share_check CHECK (fee_share_sats BETWEEN 0 AND sent_sats);

COMMENT ON COLUMN ledger_entries.fee_share_sats IS 'Satoshis of the transaction''s fee paid by this address''s inputs.';

-- History pages read only the index (see 00006): it carries the new
-- column too.
DROP INDEX ledger_entries_history_idx;
CREATE INDEX ledger_entries_history_idx ON ledger_entries
    (address_id, unconfirmed, sort_time, sort_height, txid)
    INCLUDE (status, received_sats, sent_sats, net_sats, transaction_id, fee_share_sats);

-- +goose Down
DROP INDEX ledger_entries_history_idx;
CREATE INDEX ledger_entries_history_idx ON ledger_entries
    (address_id, unconfirmed, sort_time, sort_height, txid)
    INCLUDE (status, received_sats, sent_sats, net_sats, transaction_id);
ALTER TABLE ledger_entries DROP COLUMN fee_share_sats;
