//! Buyers and their staff.

use diesel::prelude::*;

use super::unique_as;
use crate::db::schema::{buyer_members, buyers};
use crate::db::{self, DbConn, Tx};
use crate::error::{ApiError, Code};
use crate::http::pagination::Page;
use crate::projects::Buyer;

pub fn insert_buyer(conn: &mut DbConn, b: &Buyer) -> Result<(), ApiError> {
    diesel::insert_into(buyers::table).values(b).execute(conn)?;
    Ok(())
}

pub fn buyer(conn: &mut DbConn, id: &str) -> Result<Option<Buyer>, ApiError> {
    Ok(buyers::table
        .find(id)
        .select(Buyer::as_select())
        .first(conn)
        .optional()?)
}

/// A page of buyers: every one for `None` (admins), else those `user_id` staffs.
pub fn buyers_page(
    conn: &mut DbConn,
    user_id: Option<&str>,
    page: &Page,
) -> Result<Vec<Buyer>, ApiError> {
    let mut q = buyers::table
        .select(Buyer::as_select())
        .order((buyers::created_at.asc(), buyers::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(user_id) = user_id {
        let mine = buyer_members::table
            .filter(buyer_members::user_id.eq(user_id.to_owned()))
            .select(buyer_members::buyer_id);
        q = q.filter(buyers::id.eq_any(mine));
    }
    if let Some((at, id)) = &page.after {
        q = q.filter(
            buyers::created_at
                .gt(*at)
                .or(buyers::created_at.eq(*at).and(buyers::id.gt(id.clone()))),
        );
    }
    Ok(q.load(conn)?)
}

pub fn is_buyer_member(conn: &mut DbConn, buyer_id: &str, user_id: &str) -> Result<bool, ApiError> {
    Ok(buyer_members::table
        .find((buyer_id, user_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn add_buyer_member(conn: &mut DbConn, buyer_id: &str, user_id: &str) -> Result<(), ApiError> {
    diesel::insert_into(buyer_members::table)
        .values((
            buyer_members::buyer_id.eq(buyer_id),
            buyer_members::user_id.eq(user_id),
            buyer_members::created_at.eq(db::now()),
        ))
        .execute(conn)
        .map_err(|e| unique_as(e, Code::AlreadyMember))?;
    Ok(())
}

/// Removes a buyer's staff member; their open sockets check their topics again.
pub fn remove_buyer_member(
    tx: &mut Tx<'_>,
    buyer_id: &str,
    user_id: &str,
) -> Result<usize, ApiError> {
    let removed =
        diesel::delete(buyer_members::table.find((buyer_id, user_id))).execute(tx.conn())?;
    crate::auth::sessions::access_changed(tx, user_id);
    Ok(removed)
}

/// `(buyer id, buyer name)` of every buyer `user_id` staffs, for `/me`.
pub fn buyers_of(conn: &mut DbConn, user_id: &str) -> Result<Vec<(String, String)>, ApiError> {
    Ok(buyer_members::table
        .inner_join(buyers::table)
        .filter(buyer_members::user_id.eq(user_id))
        .order(buyer_members::created_at.asc())
        .select((buyers::id, buyers::name))
        .load(conn)?)
}
