-- Personal data (issue 15): erased accounts, separate consent for sensitive
-- activities, rosters erased after the retention period, and the access log
-- of who read which roster.
ALTER TABLE users ADD COLUMN erased_at TIMESTAMP;

-- The version of the consent text a resident agreed to, for sign-ups and
-- walk-ins to counselling, health talks, legal aid and meal help.
ALTER TABLE registrations ADD COLUMN consent_version TEXT;
ALTER TABLE registrations ADD COLUMN consented_at TIMESTAMP;
-- Set when the retention sweep (or the person's own erasure) took the
-- person out of this registration; counts stay.
ALTER TABLE registrations ADD COLUMN erased_at TIMESTAMP;
-- A walk-in added at the door. Until now a walk-in was "no account"; once
-- rosters can be erased, an erased resident has no account either.
ALTER TABLE registrations ADD COLUMN walk_in BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE registrations SET walk_in = TRUE WHERE user_id IS NULL;

-- Set when the retention sweep has erased the event's walk-ins (and, for the
-- sensitive categories, its roster).
ALTER TABLE events ADD COLUMN personal_erased_at TIMESTAMP;
CREATE INDEX events_retention ON events(ends_at) WHERE personal_erased_at IS NULL;

CREATE TABLE access_log (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    actor TEXT NOT NULL REFERENCES users(id),
    -- roster, roster_csv, sync_feed, checkin_audit, phone_lookup
    what TEXT NOT NULL,
    event_id TEXT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX access_log_by_org ON access_log(organization_id, at, id);
CREATE INDEX access_log_by_actor ON access_log(actor, what, event_id, at);
