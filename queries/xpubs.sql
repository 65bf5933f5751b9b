-- name: XpubCreate :one
-- XpubCreate starts tracking an extended public key for a user. It fails on
-- xpubs_user_id_xpub_key when the user already tracks it.
INSERT INTO xpubs (user_id, network, xpub, purpose, label)
VALUES (@user_id, @network, @xpub, @purpose, sqlc.narg(label))
RETURNING *;

-- name: XpubUpsert :one
-- XpubUpsert returns the user's xpub row, creating it when new (the
-- fixtures use it). An existing row is read, not rewritten.
WITH inserted AS (
    INSERT INTO xpubs (user_id, network, xpub, purpose, label)
    VALUES (@user_id, @network, @xpub, @purpose, sqlc.narg(label))
    ON CONFLICT ON CONSTRAINT xpubs_user_id_xpub_key DO NOTHING
    RETURNING *
)
SELECT * FROM inserted
UNION ALL
SELECT * FROM xpubs
WHERE user_id = @user_id AND xpub = @xpub
  AND NOT EXISTS (SELECT 1 FROM inserted);

-- name: XpubAddressesUpsert :exec
-- XpubAddressesUpsert records a batch of derived addresses of one xpub
-- (primary key (xpub_id, chain, index)); re-deriving is a no-op.
INSERT INTO xpub_addresses (xpub_id, chain, index, address_id)
SELECT @xpub_id, unnest(@chains::text[]), unnest(@indexes::integer[]), unnest(@address_ids::bigint[])
ON CONFLICT (xpub_id, chain, index) DO NOTHING;

-- name: XpubAddressList :many
-- XpubAddressList lists an xpub's derived addresses in derivation order
-- (primary key), scoped to the owning user.
SELECT xa.chain, xa.index, a.address
FROM xpub_addresses xa
JOIN xpubs x ON x.id = xa.xpub_id
JOIN addresses a ON a.id = xa.address_id
WHERE xa.xpub_id = @xpub_id AND x.user_id = @user_id
ORDER BY xa.chain DESC, xa.index;
