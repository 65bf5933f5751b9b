-- +goose Up
-- 00021 stamped a chain tip on any change, and every tip check records
-- when it ran (checked_at): each check changed every user's ETag, though
-- no answer shows when the tip was checked. Only a new height or block
-- (confirmations) changes what users see.
DROP TRIGGER chain_tips_stamp ON chain_tips;
CREATE TRIGGER chain_tips_stamp BEFORE UPDATE OF height, block_hash ON chain_tips
    FOR EACH ROW WHEN (OLD.height IS DISTINCT FROM NEW.height OR OLD.block_hash IS DISTINCT FROM NEW.block_hash)
    EXECUTE FUNCTION stamp_change();

-- +goose Down
DROP TRIGGER chain_tips_stamp ON chain_tips;
CREATE TRIGGER chain_tips_stamp BEFORE UPDATE ON chain_tips
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION stamp_change();
