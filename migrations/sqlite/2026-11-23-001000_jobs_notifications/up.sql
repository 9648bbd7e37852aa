-- The durable job queue (reminders, notifications, webhook deliveries, later
-- retention sweeps), the notification inbox and settings, and webhooks.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    -- Finds one job again (to withdraw or move it); unique while it waits.
    job_key TEXT UNIQUE,
    -- What the job is about (`event:{id}`), to move or withdraw jobs in bulk.
    subject TEXT,
    payload TEXT NOT NULL,
    run_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX jobs_due ON jobs(run_at);
CREATE INDEX jobs_subject ON jobs(subject);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_inbox ON notifications(user_id, created_at, id);

CREATE TABLE notification_settings (
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    -- `organization` or `buyer`, and its id.
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    url TEXT NOT NULL,
    -- JSON array of event types.
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_until TIMESTAMP,
    disabled_at TIMESTAMP,
    deleted_at TIMESTAMP,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_owner ON webhook_endpoints(owner_kind, owner_id);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
    -- The `webhook-id` header: the same on every attempt.
    message_id TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    response_code INTEGER,
    next_attempt_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at, id);
