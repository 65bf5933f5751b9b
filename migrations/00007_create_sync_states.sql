-- +goose Up
-- Synchronisation progress per shared address, so a crashed sync resumes
-- where it stopped and every user tracking the address sees one status.
CREATE TABLE sync_states (
    address_id bigint PRIMARY KEY REFERENCES addresses (id) ON DELETE CASCADE,
    -- new: never synced; queued/running: a job exists; done: complete and
    -- matching the provider's totals; partial: history incomplete or totals
    -- disagree (the balance is not to be trusted); failed: gave up.
    status text NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'queued', 'running', 'done', 'partial', 'failed')),
    -- The tip height the last complete sync saw.
    last_synced_height integer CHECK (last_synced_height >= 0),
    -- The last confirmed txid fetched: the resume point of the paged walk.
    last_seen_txid bytea CHECK (octet_length(last_seen_txid) = 32),
    pages_fetched integer NOT NULL DEFAULT 0 CHECK (pages_fetched >= 0),
    txs_fetched integer NOT NULL DEFAULT 0 CHECK (txs_fetched >= 0),
    -- Consecutive failed attempts; reset by a successful sync.
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error text,
    queued_at timestamptz,
    started_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Serves the periodic re-sync sweep: the stalest addresses first.
CREATE INDEX sync_states_finished_at_idx ON sync_states (finished_at NULLS FIRST);

COMMENT ON TABLE sync_states IS 'Blockchain synchronisation progress of each address.';

-- The best chain's tip per network: drives confirmations (tip - height + 1).
CREATE TABLE chain_tips (
    network text PRIMARY KEY
        CHECK (network IN ('mainnet', 'testnet', 'signet', 'regtest')),
    height integer NOT NULL CHECK (height >= 0),
    block_hash bytea CHECK (octet_length(block_hash) = 32),
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE chain_tips IS 'The latest block height seen per network.';

-- +goose Down
DROP TABLE chain_tips;
DROP TABLE sync_states;
