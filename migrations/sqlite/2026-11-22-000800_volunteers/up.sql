-- Volunteers and their service hours (民政部令第67号): profiles with a
-- volunteer number (no identity-card number), shifts on events, applications,
-- the in/out pairs scanned at the door, the hours records built from them (or
-- back-filled, then verified by a second manager) and issued certificates.
CREATE TABLE volunteers (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id),
    volunteer_no TEXT NOT NULL UNIQUE,
    skills TEXT NOT NULL,
    availability TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE shifts (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events(id),
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    role TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    slots INTEGER NOT NULL,
    approved INTEGER NOT NULL DEFAULT 0,
    served_group TEXT NOT NULL,
    content TEXT NOT NULL,
    auto_approve BOOLEAN NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK (approved >= 0 AND approved <= slots)
);
CREATE INDEX shifts_event ON shifts(event_id, starts_at);

CREATE TABLE shift_applications (
    id TEXT PRIMARY KEY NOT NULL,
    shift_id TEXT NOT NULL REFERENCES shifts(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (shift_id, user_id)
);
CREATE INDEX shift_applications_list ON shift_applications(shift_id, created_at, id);

CREATE TABLE volunteer_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    shift_id TEXT NOT NULL REFERENCES shifts(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    day DATE NOT NULL,
    in_at TIMESTAMP NOT NULL,
    out_at TIMESTAMP,
    signed_in_by TEXT NOT NULL,
    signed_out_by TEXT
);
CREATE INDEX volunteer_sessions_day ON volunteer_sessions(shift_id, user_id, day);
-- One open pair per volunteer and shift: a second sign-in is refused even
-- when two phones scan at once.
CREATE UNIQUE INDEX volunteer_sessions_open ON volunteer_sessions(shift_id, user_id) WHERE out_at IS NULL;

CREATE TABLE volunteer_hours (
    id TEXT PRIMARY KEY NOT NULL,
    shift_id TEXT NOT NULL REFERENCES shifts(id),
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    day DATE NOT NULL,
    tenths INTEGER NOT NULL,
    backfilled BOOLEAN NOT NULL,
    reason TEXT,
    in_at TIMESTAMP,
    out_at TIMESTAMP,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    verified_by TEXT REFERENCES users(id),
    verified_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- The door's record: one per volunteer, shift and day, rebuilt at each sign-out.
CREATE UNIQUE INDEX volunteer_hours_door ON volunteer_hours(shift_id, user_id, day) WHERE backfilled = 0;
CREATE INDEX volunteer_hours_org ON volunteer_hours(organization_id, created_at, id);
CREATE INDEX volunteer_hours_user ON volunteer_hours(user_id, day);

CREATE TABLE volunteer_certificates (
    certificate_no TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL
);
CREATE INDEX volunteer_certificates_user ON volunteer_certificates(user_id, issued_at);
