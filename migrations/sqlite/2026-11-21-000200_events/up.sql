-- Events and registrations. Seat counters live on the event row, so the seat
-- check is a conditional update under that row's lock, and listings need no
-- per-event count queries.
CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    series_id TEXT,
    title TEXT NOT NULL,
    description TEXT,
    category TEXT NOT NULL,
    centre_id TEXT REFERENCES centres(id),
    location TEXT,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    capacity INTEGER NOT NULL,
    waitlist_enabled BOOLEAN NOT NULL,
    max_party_size INTEGER NOT NULL,
    registration_opens_at TIMESTAMP,
    registration_closes_at TIMESTAMP,
    min_age INTEGER,
    max_age INTEGER,
    accessibility TEXT,
    tags TEXT NOT NULL,
    status TEXT NOT NULL,
    cancel_reason TEXT,
    confirmed_seats INTEGER NOT NULL DEFAULT 0,
    waitlist_seats INTEGER NOT NULL DEFAULT 0,
    checked_in_count INTEGER NOT NULL DEFAULT 0,
    waitlist_seq BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (confirmed_seats >= 0 AND confirmed_seats <= capacity),
    CHECK (waitlist_seats >= 0)
);
CREATE INDEX events_browse ON events(status, starts_at, id);
CREATE INDEX events_organization ON events(organization_id, starts_at);
CREATE INDEX events_centre ON events(centre_id, starts_at);
CREATE INDEX events_series ON events(series_id);

CREATE TABLE registrations (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users(id),
    party_size INTEGER NOT NULL,
    note TEXT,
    status TEXT NOT NULL,
    waitlist_ticket BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    promoted_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    cancelled_by TEXT,
    CHECK (party_size >= 1)
);
-- One active registration per resident per event, whatever the race.
CREATE UNIQUE INDEX registrations_one_active ON registrations(event_id, user_id) WHERE status <> 'cancelled';
CREATE INDEX registrations_waitlist ON registrations(event_id, status, waitlist_ticket);
CREATE INDEX registrations_roster ON registrations(event_id, created_at, id);
CREATE INDEX registrations_user ON registrations(user_id, created_at);
