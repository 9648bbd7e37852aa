-- Purchased-service projects (政府购买服务) and resident feedback: buyers and
-- their staff, projects with their centres and indicator table, bids and their
-- scores, evaluators, evaluations, typed (manual) actual values, expenses, the
-- frozen report, the catalogue's offerings and recommendations, and feedback.
-- Events link to a project once it is contracted; check-ins keep a
-- pseudonymous attendee key and an age band so figures outlive erasure.
CREATE TABLE buyers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    region TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX buyers_list ON buyers(created_at, id);

CREATE TABLE buyer_members (
    buyer_id TEXT NOT NULL REFERENCES buyers(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (buyer_id, user_id)
);
CREATE INDEX buyer_members_user ON buyer_members(user_id);

CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    buyer_id TEXT NOT NULL REFERENCES buyers(id),
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    budget_fen BIGINT NOT NULL,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    bids_close_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    cancel_reason TEXT,
    awarded_bid_id TEXT,
    organization_id TEXT REFERENCES organizations(id),
    report_mark TEXT,
    frozen_at TIMESTAMP,
    frozen_report TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX projects_buyer ON projects(buyer_id, created_at, id);
CREATE INDEX projects_status ON projects(status);

CREATE TABLE project_centres (
    project_id TEXT NOT NULL REFERENCES projects(id),
    centre_id TEXT NOT NULL REFERENCES centres(id),
    PRIMARY KEY (project_id, centre_id)
);

CREATE TABLE indicators (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id),
    position INTEGER NOT NULL,
    level1 TEXT NOT NULL,
    level2 TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    op TEXT NOT NULL,
    target DOUBLE PRECISION NOT NULL,
    unit TEXT NOT NULL,
    weight INTEGER NOT NULL,
    deviation_note TEXT,
    deviation_by TEXT,
    deviation_at TIMESTAMP
);
CREATE INDEX indicators_project ON indicators(project_id, position);

-- Every value typed for a `manual` indicator, with its author and note; the
-- last one counts.
CREATE TABLE indicator_actuals (
    id TEXT PRIMARY KEY NOT NULL,
    indicator_id TEXT NOT NULL REFERENCES indicators(id),
    value DOUBLE PRECISION NOT NULL,
    note TEXT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX indicator_actuals_of ON indicator_actuals(indicator_id, created_at);

CREATE TABLE bids (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id),
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    plan TEXT NOT NULL,
    budget_fen BIGINT NOT NULL,
    team TEXT NOT NULL,
    milestones TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP
);
-- One live bid per organization and project, even when two managers send at once.
CREATE UNIQUE INDEX bids_one_live ON bids(project_id, organization_id) WHERE status = 'live';
CREATE INDEX bids_project ON bids(project_id, created_at, id);

CREATE TABLE bid_scores (
    id TEXT PRIMARY KEY NOT NULL,
    bid_id TEXT NOT NULL REFERENCES bids(id),
    reviewer_id TEXT NOT NULL REFERENCES users(id),
    qualification INTEGER NOT NULL,
    plan INTEGER NOT NULL,
    capacity INTEGER NOT NULL,
    outputs INTEGER NOT NULL,
    budget INTEGER NOT NULL,
    comment TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (bid_id, reviewer_id)
);

CREATE TABLE project_evaluators (
    project_id TEXT NOT NULL REFERENCES projects(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    added_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_evaluators_user ON project_evaluators(user_id, created_at);

CREATE TABLE evaluations (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id),
    stage TEXT NOT NULL,
    reviewer_id TEXT NOT NULL REFERENCES users(id),
    opinion TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (project_id, stage, reviewer_id)
);

CREATE TABLE evaluation_scores (
    evaluation_id TEXT NOT NULL REFERENCES evaluations(id),
    indicator_id TEXT NOT NULL REFERENCES indicators(id),
    score DOUBLE PRECISION NOT NULL,
    note TEXT,
    PRIMARY KEY (evaluation_id, indicator_id)
);
CREATE INDEX evaluation_scores_indicator ON evaluation_scores(indicator_id);

CREATE TABLE expenses (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id),
    spent_on DATE NOT NULL,
    amount_fen BIGINT NOT NULL,
    item TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX expenses_project ON expenses(project_id, created_at, id);

CREATE TABLE offerings (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    target_group TEXT NOT NULL,
    streets TEXT NOT NULL,
    unit_price_fen BIGINT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP
);
CREATE INDEX offerings_org ON offerings(organization_id, created_at, id);

CREATE TABLE recommendations (
    id TEXT PRIMARY KEY NOT NULL,
    buyer_id TEXT NOT NULL REFERENCES buyers(id),
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    year INTEGER NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX recommendations_org ON recommendations(organization_id, year);

-- One answer per registration; no user id: feedback is anonymous in every report.
CREATE TABLE feedback (
    id TEXT PRIMARY KEY NOT NULL,
    registration_id TEXT NOT NULL UNIQUE REFERENCES registrations(id),
    event_id TEXT NOT NULL REFERENCES events(id),
    score INTEGER NOT NULL,
    comment TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX feedback_event ON feedback(event_id, created_at, id);

ALTER TABLE events ADD COLUMN contract_id TEXT REFERENCES projects(id);
CREATE INDEX events_contract ON events(contract_id, starts_at);

-- The person in charge (负责人) shown on certificates and reports, when the
-- owner sets one (else the first owner's name).
ALTER TABLE organizations ADD COLUMN person_in_charge TEXT;

ALTER TABLE checkins ADD COLUMN attendee_key TEXT;
ALTER TABLE checkins ADD COLUMN age_band TEXT;
