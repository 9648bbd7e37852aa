//! The diesel table definitions shared by SQLite and PostgreSQL. Only portable
//! column types are used: ids are `Text` (UUIDs), times are UTC `Timestamp`s.

diesel::table! {
    app_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        phone -> Text,
        password_hash -> Text,
        display_name -> Text,
        birth_year -> Nullable<Integer>,
        locale -> Text,
        accessibility_needs -> Nullable<Text>,
        is_admin -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        category -> Text,
        description -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        person_in_charge -> Nullable<Text>,
    }
}

diesel::table! {
    memberships (organization_id, user_id) {
        organization_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    centres (id) {
        id -> Text,
        name -> Text,
        address -> Text,
        street -> Text,
        district -> Text,
        timezone -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (scope, idempotency_key) {
        scope -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Binary>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    rate_limits (bucket) {
        bucket -> Text,
        window_start -> Timestamp,
        hits -> Integer,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        organization_id -> Text,
        series_id -> Nullable<Text>,
        title -> Text,
        description -> Nullable<Text>,
        category -> Text,
        centre_id -> Nullable<Text>,
        location -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        capacity -> Integer,
        waitlist_enabled -> Bool,
        max_party_size -> Integer,
        registration_opens_at -> Nullable<Timestamp>,
        registration_closes_at -> Nullable<Timestamp>,
        min_age -> Nullable<Integer>,
        max_age -> Nullable<Integer>,
        accessibility -> Nullable<Text>,
        tags -> Text,
        status -> Text,
        cancel_reason -> Nullable<Text>,
        confirmed_seats -> Integer,
        waitlist_seats -> Integer,
        waitlist_seq -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        checkin_opens_minutes -> Integer,
        contract_id -> Nullable<Text>,
        personal_erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    registrations (id) {
        id -> Text,
        event_id -> Text,
        user_id -> Nullable<Text>,
        party_size -> Integer,
        note -> Nullable<Text>,
        status -> Text,
        waitlist_ticket -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        promoted_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        cancelled_by -> Nullable<Text>,
        walk_in_name -> Nullable<Text>,
        walk_in_phone -> Nullable<Text>,
        walk_in_birth_year -> Nullable<Integer>,
        over_capacity -> Bool,
        consent_version -> Nullable<Text>,
        consented_at -> Nullable<Timestamp>,
        erased_at -> Nullable<Timestamp>,
        walk_in -> Bool,
    }
}

diesel::table! {
    ticket_keys (kid) {
        kid -> Text,
        private_key -> Text,
        public_x -> Text,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    checkins (id) {
        id -> Text,
        registration_id -> Text,
        event_id -> Text,
        method -> Text,
        device_id -> Nullable<Text>,
        offline -> Bool,
        scanned_at -> Timestamp,
        created_by -> Text,
        created_at -> Timestamp,
        attendee_key -> Nullable<Text>,
        age_band -> Nullable<Text>,
    }
}

diesel::table! {
    checkin_audit (id) {
        id -> Text,
        checkin_id -> Text,
        registration_id -> Text,
        event_id -> Text,
        action -> Text,
        actor -> Text,
        device_id -> Nullable<Text>,
        method -> Text,
        offline -> Bool,
        scanned_at -> Timestamp,
        at -> Timestamp,
    }
}

diesel::table! {
    checkin_scans (event_id, device_id, scan_id) {
        event_id -> Text,
        device_id -> Text,
        scan_id -> Text,
        registration_id -> Nullable<Text>,
        result -> Text,
        checkin_id -> Nullable<Text>,
        scanned_at -> Timestamp,
        received_at -> Timestamp,
        superseded -> Bool,
    }
}

diesel::table! {
    live_topics (topic) {
        topic -> Text,
        last_seq -> BigInt,
    }
}

diesel::table! {
    live_messages (id) {
        id -> BigInt,
        topic -> Text,
        seq -> Nullable<BigInt>,
        kind -> Text,
        data -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    centre_managers (centre_id, user_id) {
        centre_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    displays (id) {
        id -> Text,
        centre_id -> Text,
        name -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    announcements (id) {
        id -> Text,
        centre_id -> Text,
        text -> Text,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    volunteers (user_id) {
        user_id -> Text,
        volunteer_no -> Text,
        skills -> Text,
        availability -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    shifts (id) {
        id -> Text,
        event_id -> Text,
        organization_id -> Text,
        role -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        slots -> Integer,
        approved -> Integer,
        served_group -> Text,
        content -> Text,
        auto_approve -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    shift_applications (id) {
        id -> Text,
        shift_id -> Text,
        user_id -> Text,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    volunteer_sessions (id) {
        id -> Text,
        shift_id -> Text,
        user_id -> Text,
        day -> Date,
        in_at -> Timestamp,
        out_at -> Nullable<Timestamp>,
        signed_in_by -> Text,
        signed_out_by -> Nullable<Text>,
    }
}

diesel::table! {
    volunteer_hours (id) {
        id -> Text,
        shift_id -> Text,
        organization_id -> Text,
        user_id -> Text,
        day -> Date,
        tenths -> Integer,
        backfilled -> Bool,
        reason -> Nullable<Text>,
        in_at -> Nullable<Timestamp>,
        out_at -> Nullable<Timestamp>,
        recorded_by -> Text,
        verified_by -> Nullable<Text>,
        verified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    volunteer_certificates (certificate_no) {
        certificate_no -> Text,
        user_id -> Text,
        body -> Text,
        issued_at -> Timestamp,
    }
}

diesel::table! {
    /// People checked in per event (`checkin::record::count_in`).
    event_tallies (event_id) {
        event_id -> Text,
        checked_in -> Integer,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        job_key -> Nullable<Text>,
        subject -> Nullable<Text>,
        payload -> Text,
        run_at -> Timestamp,
        attempts -> Integer,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        title -> Text,
        body -> Text,
        data -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notification_settings (user_id, kind) {
        user_id -> Text,
        kind -> Text,
        enabled -> Bool,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        owner_kind -> Text,
        owner_id -> Text,
        url -> Text,
        events -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_until -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        endpoint_id -> Text,
        message_id -> Text,
        event -> Text,
        payload -> Text,
        attempt -> Integer,
        status -> Text,
        response_code -> Nullable<Integer>,
        next_attempt_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    buyers (id) {
        id -> Text,
        name -> Text,
        level -> Text,
        region -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    buyer_members (buyer_id, user_id) {
        buyer_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    projects (id) {
        id -> Text,
        buyer_id -> Text,
        title -> Text,
        category -> Text,
        description -> Text,
        budget_fen -> BigInt,
        starts_on -> Date,
        ends_on -> Date,
        bids_close_at -> Timestamp,
        status -> Text,
        cancel_reason -> Nullable<Text>,
        awarded_bid_id -> Nullable<Text>,
        organization_id -> Nullable<Text>,
        report_mark -> Nullable<Text>,
        frozen_at -> Nullable<Timestamp>,
        frozen_report -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    project_centres (project_id, centre_id) {
        project_id -> Text,
        centre_id -> Text,
    }
}

diesel::table! {
    indicators (id) {
        id -> Text,
        project_id -> Text,
        position -> Integer,
        level1 -> Text,
        level2 -> Text,
        name -> Text,
        source -> Text,
        op -> Text,
        target -> Double,
        unit -> Text,
        weight -> Integer,
        deviation_note -> Nullable<Text>,
        deviation_by -> Nullable<Text>,
        deviation_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    indicator_actuals (id) {
        id -> Text,
        indicator_id -> Text,
        value -> Double,
        note -> Text,
        author_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    bids (id) {
        id -> Text,
        project_id -> Text,
        organization_id -> Text,
        plan -> Text,
        budget_fen -> BigInt,
        team -> Text,
        milestones -> Text,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    bid_scores (id) {
        id -> Text,
        bid_id -> Text,
        reviewer_id -> Text,
        qualification -> Integer,
        plan -> Integer,
        capacity -> Integer,
        outputs -> Integer,
        budget -> Integer,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    project_evaluators (project_id, user_id) {
        project_id -> Text,
        user_id -> Text,
        added_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    evaluations (id) {
        id -> Text,
        project_id -> Text,
        stage -> Text,
        reviewer_id -> Text,
        opinion -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    evaluation_scores (evaluation_id, indicator_id) {
        evaluation_id -> Text,
        indicator_id -> Text,
        score -> Double,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    expenses (id) {
        id -> Text,
        project_id -> Text,
        spent_on -> Date,
        amount_fen -> BigInt,
        item -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    offerings (id) {
        id -> Text,
        organization_id -> Text,
        title -> Text,
        category -> Text,
        description -> Text,
        target_group -> Text,
        streets -> Text,
        unit_price_fen -> Nullable<BigInt>,
        created_by -> Text,
        created_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    recommendations (id) {
        id -> Text,
        buyer_id -> Text,
        organization_id -> Text,
        year -> Integer,
        note -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    feedback (id) {
        id -> Text,
        registration_id -> Text,
        event_id -> Text,
        score -> Integer,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    access_log (id) {
        id -> Text,
        organization_id -> Text,
        actor -> Text,
        what -> Text,
        event_id -> Nullable<Text>,
        at -> Timestamp,
    }
}

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
