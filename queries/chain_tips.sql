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
