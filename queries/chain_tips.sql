-- name: ChainTipUpsert :exec
-- ChainTipUpsert records the best chain's tip for a network.
INSERT INTO chain_tips (network, height, block_hash, updated_at)
VALUES (@network, @height, sqlc.narg(block_hash), now())
ON CONFLICT (network) DO UPDATE
SET height = EXCLUDED.height, block_hash = EXCLUDED.block_hash, updated_at = now();

-- name: ChainTipGet :one
-- ChainTipGet returns the tip height that drives confirmations.
SELECT * FROM chain_tips WHERE network = @network;
