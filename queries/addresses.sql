-- name: AddressesUpsert :many
-- AddressesUpsert returns the shared row id of every given address,
-- creating those no user tracked before, and writes nothing for existing
-- ones. An address another session inserts concurrently is in neither
-- part: db.Track, its caller, asks again for what is missing.
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
