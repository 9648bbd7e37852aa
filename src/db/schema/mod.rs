//! The diesel table definitions shared by SQLite and PostgreSQL. Only portable
//! column types are used: ids are `Text` (UUIDs), times are UTC `Timestamp`s.
//!
//! One file per area; every table is re-exported here, where the joins
//! between areas are declared.

mod activities;
mod delivery;
mod people;
mod purchasing;
mod volunteering;

pub use activities::*;
pub use delivery::*;
pub use people::*;
pub use purchasing::*;
pub use volunteering::*;

diesel::joinable!(event_tallies -> events (event_id));
diesel::joinable!(centre_managers -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(memberships -> organizations (organization_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(events -> organizations (organization_id));
diesel::joinable!(events -> centres (centre_id));
diesel::joinable!(registrations -> events (event_id));
diesel::joinable!(registrations -> users (user_id));
diesel::joinable!(checkins -> registrations (registration_id));
diesel::joinable!(volunteers -> users (user_id));
diesel::joinable!(shifts -> events (event_id));
diesel::joinable!(shift_applications -> shifts (shift_id));
diesel::joinable!(volunteer_hours -> shifts (shift_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(buyer_members -> buyers (buyer_id));
diesel::joinable!(buyer_members -> users (user_id));
diesel::joinable!(projects -> buyers (buyer_id));
diesel::joinable!(project_centres -> projects (project_id));
diesel::joinable!(indicators -> projects (project_id));
diesel::joinable!(indicator_actuals -> users (author_id));
diesel::joinable!(bids -> projects (project_id));
diesel::joinable!(bids -> organizations (organization_id));
diesel::joinable!(bid_scores -> bids (bid_id));
diesel::joinable!(project_evaluators -> users (user_id));
diesel::joinable!(evaluations -> users (reviewer_id));
diesel::joinable!(evaluation_scores -> evaluations (evaluation_id));
diesel::joinable!(expenses -> projects (project_id));
diesel::joinable!(offerings -> organizations (organization_id));
diesel::joinable!(recommendations -> buyers (buyer_id));
diesel::joinable!(feedback -> registrations (registration_id));

diesel::allow_tables_to_appear_in_same_query!(
    event_tallies,
    access_log,
    app_secrets,
    users,
    sessions,
    refresh_tokens,
    organizations,
    memberships,
    centres,
    idempotency_keys,
    rate_limits,
    events,
    registrations,
    ticket_keys,
    checkins,
    checkin_audit,
    checkin_scans,
    live_topics,
    live_messages,
    centre_managers,
    displays,
    announcements,
    volunteers,
    shifts,
    shift_applications,
    volunteer_sessions,
    volunteer_hours,
    volunteer_certificates,
    jobs,
    notifications,
    notification_settings,
    webhook_endpoints,
    webhook_deliveries,
    buyers,
    buyer_members,
    projects,
    project_centres,
    indicators,
    indicator_actuals,
    bids,
    bid_scores,
    project_evaluators,
    evaluations,
    evaluation_scores,
    expenses,
    offerings,
    recommendations,
    feedback,
);
