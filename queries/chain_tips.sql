-- name: ChainTipUpsert :exec
-- ChainTipUpsert records the best chain's tip for a network; the same tip
-- again writes nothing.
INSERT INTO chain_tips AS c (network, height, block_hash, updated_at)
VALUES (@network, @height, sqlc.narg(block_hash), now())
ON CONFLICT (network) DO UPDATE
SET height = EXCLUDED.height, block_hash = EXCLUDED.block_hash, updated_at = now()
WHERE (c.height, c.block_hash) IS DISTINCT FROM (EXCLUDED.height, EXCLUDED.block_hash);

-- name: ChainTipGet :one
-- ChainTipGet returns the tip height that drives confirmations.
SELECT * FROM chain_tips WHERE network = @network;

-- name: ChainBlocksAdd :exec
-- ChainBlocksAdd records the blocks a synchronised page's transactions sit
-- in, as the provider named them; known ones are left as they are.
INSERT INTO chain_blocks (network, height, hash)
SELECT @network, unnest(@heights::integer[]), unnest(@hashes::bytea[])
ON CONFLICT DO NOTHING;

-- name: ChainBlocksBelow :many
-- ChainBlocksBelow lists recorded blocks at or below a height, highest
-- first, for the tip check's walk down to the first agreeing height
-- (chain_blocks primary key, backwards).
SELECT height, hash FROM chain_blocks
WHERE network = @network AND height <= @max_height::integer
ORDER BY height DESC, hash
LIMIT @max_rows;

-- name: ChainBlockDelete :exec
-- ChainBlockDelete forgets a block that left the best chain.
DELETE FROM chain_blocks WHERE network = @network AND height = @height AND hash = @hash;

-- name: SyncStatesRewind :exec
-- SyncStatesRewind lowers the incremental floor of every address of the
-- network synced above a reorg's fork height, so each one's next sync
-- walks down past the fork and finds the new chain's transactions there
-- (a rare, network-wide write: reorgs are rare).
UPDATE sync_states s
SET last_synced_height = @height::integer
FROM addresses a
WHERE a.id = s.address_id AND a.network = @network AND s.last_synced_height > @height::integer;
