-- +goose Up
-- ledger_direction is a ledger row's direction as one user sees it:
-- "self" when the transaction also touches another address on the user's
-- watch-list (coins moved between the user's own addresses), otherwise
-- "incoming" when the address gained and "outgoing" when it lost. Plain
-- SQL functions, so PostgreSQL inlines them: the self check is two index
-- probes (ledger_entries_pkey by transaction, then the user's watch-list
-- by user_addresses_user_id_address_id_key).
-- +goose StatementBegin
CREATE FUNCTION is_self_transfer(p_user_id bigint, p_transaction_id bigint, p_address_id bigint)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (
        SELECT 1
        FROM ledger_entries o
        JOIN user_addresses uo ON uo.address_id = o.address_id AND uo.user_id = p_user_id
        WHERE o.transaction_id = p_transaction_id
          AND o.address_id <> p_address_id
    )
$$;

CREATE FUNCTION ledger_direction(p_user_id bigint, p_transaction_id bigint, p_address_id bigint, p_net_sats bigint)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN is_self_transfer(p_user_id, p_transaction_id, p_address_id) THEN 'self'
        WHEN p_net_sats > 0 THEN 'incoming'
        ELSE 'outgoing'
    END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION ledger_direction(bigint, bigint, bigint, bigint);
DROP FUNCTION is_self_transfer(bigint, bigint, bigint);
