//! Volunteers, shifts, hours and certificates.

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
