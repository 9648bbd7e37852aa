-- Neighbourhood-centre screens: who manages a centre, its display screens
-- (each with a revocable token) and its announcements.
CREATE TABLE centre_managers (
    centre_id TEXT NOT NULL REFERENCES centres(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (centre_id, user_id)
);

CREATE TABLE displays (
    id TEXT PRIMARY KEY NOT NULL,
    centre_id TEXT NOT NULL REFERENCES centres(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    last_seen_at TIMESTAMP
);
CREATE INDEX displays_centre ON displays(centre_id, created_at);

CREATE TABLE announcements (
    id TEXT PRIMARY KEY NOT NULL,
    centre_id TEXT NOT NULL REFERENCES centres(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    starts_at TIMESTAMP,
    ends_at TIMESTAMP,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP
);
CREATE INDEX announcements_centre ON announcements(centre_id, created_at);
