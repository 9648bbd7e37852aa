DROP TABLE access_log;
DROP INDEX events_retention;
ALTER TABLE events DROP COLUMN personal_erased_at;
ALTER TABLE registrations DROP COLUMN walk_in;
ALTER TABLE registrations DROP COLUMN erased_at;
ALTER TABLE registrations DROP COLUMN consented_at;
ALTER TABLE registrations DROP COLUMN consent_version;
ALTER TABLE users DROP COLUMN erased_at;
