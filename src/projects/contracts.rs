//! The projects' side of events linked to a contract: `events::Contracts`,
//! implemented here and registered by `app`, so events check a `contract_id`
//! and feedback finds who oversees a contract without importing projects.

use chrono::NaiveDateTime;

use super::queries;
use crate::db::DbConn;
use crate::error::{ApiError, Invalid};
use crate::events::Contracts;
use crate::events::input::EventFields;

pub struct Keeper;

/// The Shanghai date of a UTC time (the contracts' period is in local dates).
fn local_date(at: NaiveDateTime) -> chrono::NaiveDate {
    at.and_utc()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

impl Contracts for Keeper {
    fn check_link(
        &self,
        conn: &mut DbConn,
        contract_id: &str,
        organization_id: &str,
        fields: &EventFields,
    ) -> Result<(), ApiError> {
        let outside = || ApiError::field("contract_id", Invalid::OutsideContract);
        let project = queries::find(conn, contract_id)?.ok_or_else(outside)?;
        if project.organization_id.as_deref() != Some(organization_id) || !project.delivering() {
            return Err(outside());
        }
        if local_date(fields.starts_at) < project.starts_on
            || local_date(fields.ends_at) > project.ends_on
        {
            return Err(outside());
        }
        let centres = queries::centres_of(conn, contract_id)?;
        match &fields.centre_id {
            Some(centre) if centres.contains(centre) => Ok(()),
            _ => Err(outside()),
        }
    }

    fn oversees(
        &self,
        conn: &mut DbConn,
        contract_id: &str,
        user_id: &str,
    ) -> Result<bool, ApiError> {
        let Some(project) = queries::find(conn, contract_id)? else {
            return Ok(false);
        };
        Ok(queries::is_buyer_member(conn, &project.buyer_id, user_id)?
            || queries::is_evaluator(conn, contract_id, user_id)?)
    }
}
