//! Sessions: one per login, each with a chain of refresh tokens. Rotating a
//! refresh token marks it used; presenting a used one again revokes the whole
//! session, so a stolen token stops working for thief and owner alike.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::tokens::{hash_refresh_token, new_refresh_token};
use crate::db::schema::{refresh_tokens, sessions, users};
use crate::db::{self, DbConn, Tx};
use crate::error::ApiError;

/// A new session for `user_id`; returns (session id, refresh token).
pub fn start(
    conn: &mut DbConn,
    user_id: &str,
    ttl: chrono::Duration,
) -> Result<(String, String), ApiError> {
    let now = db::now();
    let session_id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&session_id),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
        ))
        .execute(conn)?;
    let refresh = add_refresh_token(conn, &session_id, now, ttl)?;
    Ok((session_id, refresh))
}

fn add_refresh_token(
    conn: &mut DbConn,
    session_id: &str,
    now: NaiveDateTime,
    ttl: chrono::Duration,
) -> Result<String, ApiError> {
    let (token, hash) = new_refresh_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(token)
}

/// (session id, user id, expires at, rotated at, session revoked at)
type TokenRow = (
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

/// What presenting a refresh token led to.
pub enum Rotation {
    /// A new refresh token for the same session.
    Rotated {
        user_id: String,
        session_id: String,
        refresh_token: String,
    },
    /// Unknown, expired, or its session is over.
    Invalid,
    /// Already rotated once: the session has now been revoked.
    Reused,
}

/// Rotates `token` inside the caller's write transaction. The conditional update
/// makes two concurrent rotations of one token end with exactly one winner.
pub fn rotate(tx: &mut Tx<'_>, token: &str, ttl: chrono::Duration) -> Result<Rotation, ApiError> {
    let conn = tx.conn();
    let now = db::now();
    let hash = hash_refresh_token(token);
    let found: Option<TokenRow> = refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(&hash))
        .select((
            sessions::id,
            sessions::user_id,
            refresh_tokens::expires_at,
            refresh_tokens::rotated_at,
            sessions::revoked_at,
        ))
        .first(conn)
        .optional()?;
    let Some((session_id, user_id, expires_at, rotated_at, revoked_at)) = found else {
        return Ok(Rotation::Invalid);
    };
    if revoked_at.is_some() || expires_at <= now {
        return Ok(Rotation::Invalid);
    }
    let claimed = if rotated_at.is_none() {
        diesel::update(refresh_tokens::table.find(&hash))
            .filter(refresh_tokens::rotated_at.is_null())
            .set(refresh_tokens::rotated_at.eq(now))
            .execute(conn)?
    } else {
        0
    };
    if claimed == 0 {
        revoke(tx, &session_id)?;
        return Ok(Rotation::Reused);
    }
    let refresh_token = add_refresh_token(tx, &session_id, now, ttl)?;
    Ok(Rotation::Rotated {
        user_id,
        session_id,
        refresh_token,
    })
}

/// The control topic of a session: any message on it closes the session's
/// sockets on every instance with `4001` (the live hub watches it).
pub fn control_topic(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// The control topic of a person's access: any message on it makes each of
/// their open sockets check its topics again (a membership, a role or an
/// evaluator's place ended), dropping those no longer allowed.
pub fn access_topic(user_id: &str) -> String {
    format!("access:{user_id}")
}

/// Records, in the write that took it away, that `user_id` lost some access.
pub fn access_changed(tx: &mut Tx<'_>, user_id: &str) {
    tx.record(
        access_topic(user_id),
        "access.changed",
        &serde_json::json!({}),
    );
}

/// Ends a session: its refresh tokens stop working, its access tokens fail
/// the per-request check, and its open sockets close (on every instance).
pub fn revoke(tx: &mut Tx<'_>, session_id: &str) -> Result<(), ApiError> {
    let ended = diesel::update(sessions::table.find(session_id))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(db::now()))
        .execute(tx.conn())?;
    if ended > 0 {
        tx.record(
            control_topic(session_id),
            "session.ended",
            &serde_json::json!({}),
        );
    }
    Ok(())
}

/// Ends every live session of `user_id` (account erasure).
pub fn revoke_all(tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
    let live: Vec<String> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .select(sessions::id)
        .load(tx.conn())?;
    for session_id in live {
        revoke(tx, &session_id)?;
    }
    diesel::delete(
        refresh_tokens::table.filter(
            refresh_tokens::session_id.eq_any(
                sessions::table
                    .filter(sessions::user_id.eq(user_id))
                    .select(sessions::id),
            ),
        ),
    )
    .execute(tx.conn())?;
    Ok(())
}

/// The sessions of `user_id`, for their data export: (id, started, ended).
pub fn of_user(
    conn: &mut DbConn,
    user_id: &str,
) -> Result<Vec<(String, NaiveDateTime, Option<NaiveDateTime>)>, ApiError> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .order(sessions::created_at)
        .select((sessions::id, sessions::created_at, sessions::revoked_at))
        .load(conn)?)
}

/// The session a refresh token belongs to, if it is `user_id`'s.
pub fn session_of_refresh_token(
    conn: &mut DbConn,
    token: &str,
    user_id: &str,
) -> Result<Option<String>, ApiError> {
    Ok(refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(hash_refresh_token(token)))
        .filter(sessions::user_id.eq(user_id))
        .select(sessions::id)
        .first(conn)
        .optional()?)
}

/// For each authenticated request: `Some(is_admin)` while the session is live.
pub fn live_user(
    conn: &mut DbConn,
    session_id: &str,
    user_id: &str,
) -> Result<Option<bool>, ApiError> {
    Ok(sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id))
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .select(users::is_admin)
        .first(conn)
        .optional()?)
}

/// Deletes refresh tokens past their expiry; run periodically.
pub fn prune(conn: &mut DbConn) -> Result<usize, ApiError> {
    Ok(
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(db::now())))
            .execute(conn)?,
    )
}
