-- +goose Up
-- What a sync needs to stay right against the real Esplora servers, whose
-- listings are capped, whose resume points can vanish and whose backends
-- lag one another.

-- Whether the stored history of the address is known complete: the last
-- sync that finished ended done. Only then may the next sync walk
-- incrementally (down to a few blocks below last_synced_height); a
-- partial one is walked whole again, so partial is never permanent.
ALTER TABLE sync_states ADD COLUMN history_complete boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN sync_states.history_complete IS 'The last finished sync ended done: the next may walk incrementally.';
-- A partial or failed sync leaves last_error set; done clears it.
UPDATE sync_states SET history_complete = (last_synced_height IS NOT NULL AND last_error IS NULL);

-- The periodic re-sync takes addresses without a complete history (never
-- synced, then partial) before complete ones, each group stalest first.
DROP INDEX sync_states_finished_at_idx;
CREATE INDEX sync_states_sweep_idx ON sync_states (history_complete, finished_at NULLS FIRST);

-- transaction_spends now holds the inputs of every transaction a sync
-- writes, confirmed ones included, as a wallet's transaction graph does:
-- a pending transaction that spends an outpoint a confirmed transaction
-- also spends was replaced, found without asking the provider.
COMMENT ON TABLE transaction_spends IS 'Outpoints spent by each synchronised transaction, to find conflicting (replaced) spends.';
CREATE INDEX transaction_spends_outpoint_idx ON transaction_spends (prev_txid, prev_vout);

-- The best-chain block hash at each height that holds a transaction a sync
-- stored, as the provider named it then. The tip check compares these
-- with the provider's GET /block-height/:h, from the top down, to find a
-- reorg of any depth (cached block status answers cannot be trusted).
-- Rows appear as syncs write pages; transactions stored before this
-- migration get theirs when a sync next walks past them. One height may
-- briefly hold two hashes (a stale one and its replacement) until the
-- page that records the new one demotes the old.
CREATE TABLE chain_blocks (
    network text NOT NULL
        CHECK (network IN ('mainnet', 'testnet', 'signet', 'regtest')),
    height integer NOT NULL CHECK (height >= 0),
    hash bytea NOT NULL CHECK (octet_length(hash) = 32),
    -- A row recorded after the last tip check began proves nothing about
    -- the rows below it: the check looks past it to an older agreeing one.
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (network, height, hash)
);

COMMENT ON TABLE chain_blocks IS 'Height-to-hash checkpoints of the blocks holding synchronised transactions, for reorg checks.';

-- When the last tip check that finished began (see chain_blocks.recorded_at).
ALTER TABLE chain_tips ADD COLUMN checked_at timestamptz;
COMMENT ON COLUMN chain_tips.checked_at IS 'When the last complete reorg check began.';

-- +goose Down
ALTER TABLE chain_tips DROP COLUMN checked_at;
DROP TABLE chain_blocks;
DROP INDEX transaction_spends_outpoint_idx;
COMMENT ON TABLE transaction_spends IS 'Outpoints spent by transactions seen pending, to tell replaced from dropped.';
DROP INDEX sync_states_sweep_idx;
CREATE INDEX sync_states_finished_at_idx ON sync_states (finished_at NULLS FIRST);
ALTER TABLE sync_states DROP COLUMN history_complete;
