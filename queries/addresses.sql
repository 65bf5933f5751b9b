-- name: AddressUpsert :one
-- AddressUpsert returns the shared row for (network, address), creating it
-- when no user tracked it before. The no-op update makes RETURNING yield
-- the existing row too, in one round trip.
INSERT INTO addresses (network, address, script_type)
VALUES (@network, @address, @script_type)
ON CONFLICT ON CONSTRAINT addresses_network_address_key DO UPDATE
SET network = EXCLUDED.network
RETURNING *;

-- name: AddressesUpsert :many
-- AddressesUpsert is the bulk form of AddressUpsert, for fixtures and xpub
-- derivation: it returns the id of every given address, new or existing,
-- and writes nothing for existing ones. An address another session inserts
-- concurrently is in neither part: callers compare counts and retry.
WITH input AS (
    SELECT unnest(@networks::text[]) AS network,
           unnest(@addresses::text[]) AS address,
           unnest(@script_types::text[]) AS script_type
), inserted AS (
    INSERT INTO addresses (network, address, script_type)
    SELECT network, address, script_type FROM input
    ON CONFLICT ON CONSTRAINT addresses_network_address_key DO NOTHING
    RETURNING id, network, address
)
SELECT inserted.id, inserted.network, inserted.address FROM inserted
UNION ALL
SELECT a.id, a.network, a.address
FROM addresses a
JOIN input i ON i.network = a.network AND i.address = a.address;
