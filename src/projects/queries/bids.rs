//! Bids, their scores and the project's evaluators.

use std::collections::HashMap;

use diesel::prelude::*;

use super::unique_as;
use crate::db::schema::{bid_scores, bids, project_evaluators};
use crate::db::{self, DbConn, Tx};
use crate::error::{ApiError, Code};
use crate::http::pagination::Page;
use crate::projects::{Bid, BidScore, LIVE_BID, WITHDRAWN_BID};

pub fn insert_bid(conn: &mut DbConn, bid: &Bid) -> Result<(), ApiError> {
    diesel::insert_into(bids::table)
        .values(bid)
        .execute(conn)
        .map_err(|e| unique_as(e, Code::AlreadyBid))?;
    Ok(())
}

pub fn bid(conn: &mut DbConn, id: &str) -> Result<Option<Bid>, ApiError> {
    Ok(bids::table
        .find(id)
        .select(Bid::as_select())
        .first(conn)
        .optional()?)
}

pub fn live_bid_of(
    conn: &mut DbConn,
    project_id: &str,
    org_id: &str,
) -> Result<Option<Bid>, ApiError> {
    Ok(bids::table
        .filter(bids::project_id.eq(project_id))
        .filter(bids::organization_id.eq(org_id))
        .filter(bids::status.eq(LIVE_BID))
        .select(Bid::as_select())
        .first(conn)
        .optional()?)
}

pub fn withdraw_bid(conn: &mut DbConn, id: &str) -> Result<(), ApiError> {
    diesel::update(bids::table.find(id))
        .set((
            bids::status.eq(WITHDRAWN_BID),
            bids::withdrawn_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A page of a project's bids with their organization's name; only those of
/// `orgs` when given.
pub fn bids_of(
    conn: &mut DbConn,
    project_id: &str,
    orgs: Option<&[String]>,
    page: &Page,
) -> Result<Vec<(Bid, String)>, ApiError> {
    use crate::db::schema::organizations;
    let mut q = bids::table
        .inner_join(organizations::table)
        .filter(bids::project_id.eq(project_id.to_owned()))
        .select((Bid::as_select(), organizations::name))
        .order((bids::created_at.asc(), bids::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(orgs) = orgs {
        q = q.filter(bids::organization_id.eq_any(orgs.to_vec()));
    }
    if let Some((at, id)) = &page.after {
        q = q.filter(
            bids::created_at
                .gt(*at)
                .or(bids::created_at.eq(*at).and(bids::id.gt(id.clone()))),
        );
    }
    Ok(q.load(conn)?)
}

/// The organizations with a live bid on the project.
pub fn bidding_orgs(conn: &mut DbConn, project_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(bids::table
        .filter(bids::project_id.eq(project_id))
        .filter(bids::status.eq(LIVE_BID))
        .select(bids::organization_id)
        .load(conn)?)
}

pub fn insert_score(conn: &mut DbConn, s: &BidScore) -> Result<(), ApiError> {
    diesel::insert_into(bid_scores::table)
        .values(s)
        .execute(conn)
        .map_err(|e| unique_as(e, Code::AlreadyScored))?;
    Ok(())
}

/// The scores of each of these bids.
pub fn scores_of(
    conn: &mut DbConn,
    bid_ids: &[String],
) -> Result<HashMap<String, Vec<BidScore>>, ApiError> {
    let rows: Vec<BidScore> = bid_scores::table
        .filter(bid_scores::bid_id.eq_any(bid_ids))
        .order((bid_scores::created_at.asc(), bid_scores::id.asc()))
        .select(BidScore::as_select())
        .load(conn)?;
    let mut by_bid: HashMap<String, Vec<BidScore>> = HashMap::new();
    for s in rows {
        by_bid.entry(s.bid_id.clone()).or_default().push(s);
    }
    Ok(by_bid)
}

pub fn is_evaluator(conn: &mut DbConn, project_id: &str, user_id: &str) -> Result<bool, ApiError> {
    Ok(project_evaluators::table
        .find((project_id, user_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn add_evaluator(
    conn: &mut DbConn,
    project_id: &str,
    user_id: &str,
    by: &str,
) -> Result<(), ApiError> {
    diesel::insert_into(project_evaluators::table)
        .values((
            project_evaluators::project_id.eq(project_id),
            project_evaluators::user_id.eq(user_id),
            project_evaluators::added_by.eq(by),
            project_evaluators::created_at.eq(db::now()),
        ))
        .execute(conn)
        .map_err(|e| unique_as(e, Code::AlreadyMember))?;
    Ok(())
}

/// Removes an evaluator; their open sockets drop the project's topic.
pub fn remove_evaluator(
    tx: &mut Tx<'_>,
    project_id: &str,
    user_id: &str,
) -> Result<usize, ApiError> {
    let removed =
        diesel::delete(project_evaluators::table.find((project_id, user_id))).execute(tx.conn())?;
    crate::auth::sessions::access_changed(tx, user_id);
    Ok(removed)
}

/// The projects `user_id` evaluates, for `/me`.
pub fn evaluator_projects(conn: &mut DbConn, user_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(project_evaluators::table
        .filter(project_evaluators::user_id.eq(user_id))
        .order(project_evaluators::created_at.asc())
        .select(project_evaluators::project_id)
        .load(conn)?)
}
