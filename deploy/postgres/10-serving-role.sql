-- The role serve and worker connect as (docker-compose runs this once, as
-- the schema's owner, when the db volume is new). It owns nothing: `migrate
-- up` (as the owner, with DATABASE_APP_ROLE=cointracker_app) grants it the
-- rows of every table, so an injection through the API could neither
-- create, alter nor drop anything. Change the password for anything but a
-- local stack.
CREATE ROLE cointracker_app LOGIN PASSWORD 'cointracker_app';
