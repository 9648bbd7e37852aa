-- Check-in: ticket signing keys, walk-in registrations, one check-in per
-- registration (enforced by a unique index), an audit trail, and every scan
-- uploaded from a staff phone (idempotent per device and scan id).
CREATE TABLE ticket_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    private_key TEXT NOT NULL,
    public_x TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);

ALTER TABLE registrations ADD COLUMN walk_in_name TEXT;
ALTER TABLE registrations ADD COLUMN walk_in_phone TEXT;
ALTER TABLE registrations ADD COLUMN walk_in_birth_year INTEGER;
ALTER TABLE registrations ADD COLUMN over_capacity BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE checkins (
    id TEXT PRIMARY KEY NOT NULL,
    registration_id TEXT NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    device_id TEXT,
    offline BOOLEAN NOT NULL,
    scanned_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX checkins_one_per_registration ON checkins(registration_id);
CREATE INDEX checkins_event ON checkins(event_id, created_at);

CREATE TABLE checkin_audit (
    id TEXT PRIMARY KEY NOT NULL,
    checkin_id TEXT NOT NULL,
    registration_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    device_id TEXT,
    method TEXT NOT NULL,
    offline BOOLEAN NOT NULL,
    scanned_at TIMESTAMP NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX checkin_audit_event ON checkin_audit(event_id, at);

CREATE TABLE checkin_scans (
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    scan_id TEXT NOT NULL,
    registration_id TEXT,
    result TEXT NOT NULL,
    checkin_id TEXT,
    scanned_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, device_id, scan_id)
);
CREATE INDEX checkin_scans_anomalies ON checkin_scans(event_id, result, received_at);
