-- One database per service: each service owns its database and is its only writer. The gateway's
-- holds users, refresh tokens and API keys.
-- The postgres image runs this once, as POSTGRES_USER, when its data volume is empty. On an
-- existing volume a new service database is created by hand (or `docker compose down -v`, which
-- deletes every database).
CREATE DATABASE households;
CREATE DATABASE indicators;
CREATE DATABASE notifications;
CREATE DATABASE gateway;
