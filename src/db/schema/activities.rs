//! Events, registrations, tickets, check-ins and feedback.

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
    /// People checked in per event (`checkin::record::count_in`).
    event_tallies (event_id) {
        event_id -> Text,
        checked_in -> Integer,
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
    feedback (id) {
        id -> Text,
        registration_id -> Text,
        event_id -> Text,
        score -> Integer,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
    }
}
