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
-- derivation: it returns the id of every given address, new or existing.
INSERT INTO addresses (network, address, script_type)
SELECT unnest(@networks::text[]), unnest(@addresses::text[]), unnest(@script_types::text[])
ON CONFLICT ON CONSTRAINT addresses_network_address_key DO UPDATE
SET network = EXCLUDED.network
RETURNING id, network, address;
