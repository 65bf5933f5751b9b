-- +goose Up
-- Conditional reads (ETag, If-None-Match → 304) need to know, without
-- reading the ledger, whether anything a user could see has changed. Every
-- row a user's answers are made of carries a change stamp: a value of
-- data_change_seq taken whenever the row is written. A user's data
-- version (query UserDataVersion) is, over the rows of their watch-list
-- and xpubs, the count and the sum of the stamps: a committed change
-- replaces a stamp with a larger one (sequence values only grow) or adds
-- or removes a row, so the pair changes with every change, whatever order
-- concurrent transactions commit in, which the largest stamp alone would
-- not (a smaller stamp can commit after a larger one). Nothing is locked
-- but the rows being written anyway.
CREATE SEQUENCE data_change_seq;

-- +goose StatementBegin
CREATE FUNCTION stamp_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_seq := nextval('data_change_seq');
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION stamp_change() IS 'Stamps the row being written with the next data_change_seq (see migration 00021).';

ALTER TABLE users ADD COLUMN changed_seq bigint NOT NULL DEFAULT nextval('data_change_seq');
ALTER TABLE user_addresses ADD COLUMN changed_seq bigint NOT NULL DEFAULT nextval('data_change_seq');
ALTER TABLE xpubs ADD COLUMN changed_seq bigint NOT NULL DEFAULT nextval('data_change_seq');
ALTER TABLE sync_states ADD COLUMN changed_seq bigint NOT NULL DEFAULT nextval('data_change_seq');
ALTER TABLE chain_tips ADD COLUMN changed_seq bigint NOT NULL DEFAULT nextval('data_change_seq');

-- An update stamps the row only when it changes something: the profile
-- refresh and the sync's idempotent writes leave the version alone.
CREATE TRIGGER users_stamp BEFORE UPDATE ON users
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION stamp_change();
CREATE TRIGGER user_addresses_stamp BEFORE UPDATE ON user_addresses
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION stamp_change();
CREATE TRIGGER xpubs_stamp BEFORE UPDATE ON xpubs
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION stamp_change();
CREATE TRIGGER sync_states_stamp BEFORE UPDATE ON sync_states
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION stamp_change();
CREATE TRIGGER chain_tips_stamp BEFORE UPDATE ON chain_tips
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION stamp_change();

-- The ledger's rows are many: an address's stamp stands for all of them,
-- taken by each statement that writes any (a sync page, a status change,
-- a fixture batch, a deletion), in the statement's own transaction.
CREATE TABLE address_stamps (
    address_id bigint PRIMARY KEY REFERENCES addresses (id) ON DELETE CASCADE,
    changed_seq bigint NOT NULL
);

COMMENT ON TABLE address_stamps IS 'Change stamp of each address''s ledger rows (see migration 00021).';

-- Shared data every user sees: the daily closes (value_usd). One row a
-- kind, stamped once per statement that writes prices.
CREATE TABLE shared_stamps (
    kind text PRIMARY KEY,
    changed_seq bigint NOT NULL
);
INSERT INTO shared_stamps (kind, changed_seq) VALUES ('prices', nextval('data_change_seq'));

COMMENT ON TABLE shared_stamps IS 'Change stamp of data every user sees (see migration 00021).';

-- +goose StatementBegin
CREATE FUNCTION ledger_stamp_addresses() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO address_stamps AS s (address_id, changed_seq)
        SELECT a.address_id, nextval('data_change_seq')
        FROM (SELECT DISTINCT address_id FROM old_rows ORDER BY 1) a
        ON CONFLICT (address_id) DO UPDATE SET changed_seq = nextval('data_change_seq');
    ELSE
        INSERT INTO address_stamps AS s (address_id, changed_seq)
        SELECT a.address_id, nextval('data_change_seq')
        FROM (SELECT DISTINCT address_id FROM new_rows ORDER BY 1) a
        ON CONFLICT (address_id) DO UPDATE SET changed_seq = nextval('data_change_seq');
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION ledger_stamp_addresses() IS 'Stamps the addresses whose ledger rows a statement wrote (see migration 00021).';

CREATE TRIGGER ledger_stamp_insert AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_stamp_addresses();
CREATE TRIGGER ledger_stamp_update AFTER UPDATE ON ledger_entries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_stamp_addresses();
CREATE TRIGGER ledger_stamp_delete AFTER DELETE ON ledger_entries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_stamp_addresses();

INSERT INTO address_stamps (address_id, changed_seq)
SELECT a.address_id, nextval('data_change_seq')
FROM (SELECT DISTINCT address_id FROM ledger_entries) a;

-- +goose StatementBegin
CREATE FUNCTION prices_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE shared_stamps SET changed_seq = nextval('data_change_seq') WHERE kind = 'prices';
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER prices_stamp AFTER INSERT OR UPDATE OR DELETE ON prices
    FOR EACH STATEMENT EXECUTE FUNCTION prices_stamp();

-- +goose Down
DROP TRIGGER prices_stamp ON prices;
DROP FUNCTION prices_stamp();
DROP TRIGGER ledger_stamp_insert ON ledger_entries;
DROP TRIGGER ledger_stamp_update ON ledger_entries;
DROP TRIGGER ledger_stamp_delete ON ledger_entries;
DROP FUNCTION ledger_stamp_addresses();
DROP TABLE shared_stamps;
DROP TABLE address_stamps;
DROP TRIGGER users_stamp ON users;
DROP TRIGGER user_addresses_stamp ON user_addresses;
DROP TRIGGER xpubs_stamp ON xpubs;
DROP TRIGGER sync_states_stamp ON sync_states;
DROP TRIGGER chain_tips_stamp ON chain_tips;
ALTER TABLE users DROP COLUMN changed_seq;
ALTER TABLE user_addresses DROP COLUMN changed_seq;
ALTER TABLE xpubs DROP COLUMN changed_seq;
ALTER TABLE sync_states DROP COLUMN changed_seq;
ALTER TABLE chain_tips DROP COLUMN changed_seq;
DROP FUNCTION stamp_change();
DROP SEQUENCE data_change_seq;
