//! Buyers, purchased-service projects, bids, evaluations and the catalogue.

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
