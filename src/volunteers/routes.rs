//! Every volunteer route, and the resident's own profile:
//! `POST /me/volunteer` (opt in), `GET /me/volunteer` (with a fresh door code).

use actix_web::{HttpResponse, web};
use chrono::Duration;
use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{CODE_TYP, Volunteer, certificates, door, queries, records, shifts};
use crate::auth::CurrentUser;
use crate::checkin::tickets::TicketKeys;
use crate::db::{self, Db, DbConn};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::parse_fields;
use crate::validate::{optional_text, text};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/me/volunteer")
            .route(web::post().to(opt_in))
            .route(web::get().to(mine)),
    )
    .route("/me/volunteer/hours", web::get().to(records::mine))
    .route(
        "/me/volunteer/certificates",
        web::post().to(certificates::issue),
    )
    .route("/certificates/{no}", web::get().to(certificates::show))
    .service(
        web::resource("/events/{id}/shifts")
            .route(web::post().to(shifts::create))
            .route(web::get().to(shifts::list)),
    )
    .service(
        web::resource("/shifts/{id}/applications")
            .route(web::post().to(shifts::apply))
            .route(web::get().to(shifts::applications)),
    )
    .route(
        "/applications/{id}/approve",
        web::post().to(shifts::approve),
    )
    .route("/applications/{id}/reject", web::post().to(shifts::reject))
    .route("/shifts/{id}/attendance", web::post().to(door::attendance))
    .route("/shifts/{id}/backfill", web::post().to(door::backfill))
    .route("/hours/{id}/verify", web::post().to(door::verify))
    .route("/organizations/{id}/hours", web::get().to(records::of_org))
    .route(
        "/organizations/{id}/volunteer-hours.csv",
        web::get().to(records::csv),
    );
}

/// How long a door code stays valid; the app fetches a fresh one with
/// `GET /me/volunteer`.
const CODE_LIFETIME: Duration = Duration::days(180);

#[derive(Debug, Serialize, Deserialize)]
pub struct CodeClaims {
    /// The volunteer number.
    pub sub: String,
    pub typ: String,
    pub exp: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptIn {
    /// What the volunteer can do: at most 10, each 1–20 characters.
    #[schema(example = json!(["送餐", "陪伴老人"]))]
    pub skills: Vec<String>,
    #[schema(example = "周末上午")]
    pub availability: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VolunteerView {
    #[schema(example = "V2026483917")]
    pub volunteer_no: String,
    pub skills: Vec<String>,
    pub availability: Option<String>,
    /// A signed code (like a ticket, `typ` volunteer) that staff scan at the
    /// door; show it as a QR code.
    pub code: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn view(v: Volunteer, keys: &TicketKeys) -> Result<VolunteerView, ApiError> {
    let code = keys.sign_claims(&CodeClaims {
        sub: v.volunteer_no.clone(),
        typ: CODE_TYP.into(),
        exp: (db::now() + CODE_LIFETIME).and_utc().timestamp(),
    })?;
    Ok(VolunteerView {
        skills: v.skills(),
        volunteer_no: v.volunteer_no,
        availability: v.availability,
        code,
        created_at: v.created_at.and_utc(),
    })
}

/// The volunteer a door code names, else `422 invalid_ticket`.
pub fn from_code(conn: &mut DbConn, keys: &TicketKeys, code: &str) -> Result<Volunteer, ApiError> {
    let claims: CodeClaims = keys.verify_claims(code, conn, Code::InvalidTicket)?;
    if claims.typ != CODE_TYP {
        return Err(Code::InvalidTicket.into());
    }
    queries::by_number(conn, &claims.sub)?.ok_or(ApiError::from(Code::InvalidTicket))
}

fn skills(values: &[String]) -> Result<String, Invalid> {
    if values.len() > 10 {
        return Err(Invalid::OutOfRange { min: 0, max: 10 });
    }
    let skills = values
        .iter()
        .map(|s| text(s, 1, 20))
        .collect::<Result<Vec<_>, _>>()?;
    serde_json::to_string(&skills).map_err(|_| Invalid::Unknown)
}

/// A number staff can read out and type: `V` and ten digits.
fn new_number() -> String {
    format!("V{:010}", rand::rng().random_range(0..10_000_000_000u64))
}

/// Opts the caller in as a volunteer.
#[utoipa::path(post, path = "/api/v1/me/volunteer", tag = "volunteers",
    security(("bearer" = [])),
    request_body = OptIn,
    responses(
        (status = 201, body = VolunteerView),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 409, description = "`already_volunteer`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn opt_in(
    Guarded(user, body): Guarded<CurrentUser, Json<OptIn>>,
    db: web::Data<Db>,
    keys: web::Data<TicketKeys>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        skills = "skills" => skills(&body.skills),
        availability = "availability" => optional_text(body.availability.as_deref(), 200),
    );
    let volunteer = db
        .write(move |tx| {
            if queries::volunteer(tx, &user.id)?.is_some() {
                return Err(Code::AlreadyVolunteer.into());
            }
            // Ten random digits: a number already taken is drawn again.
            let mut number = new_number();
            for _ in 0..5 {
                if queries::by_number(tx, &number)?.is_none() {
                    break;
                }
                number = new_number();
            }
            let now = db::now();
            let v = Volunteer {
                user_id: user.id.clone(),
                volunteer_no: number,
                skills,
                availability,
                created_at: now,
                updated_at: now,
            };
            queries::insert_volunteer(tx, &v)?;
            Ok(v)
        })
        .await?;
    Ok(HttpResponse::Created().json(view(volunteer, &keys)?))
}

/// The caller's volunteer profile with a fresh door code; `404` before opting in.
#[utoipa::path(get, path = "/api/v1/me/volunteer", tag = "volunteers",
    security(("bearer" = [])),
    responses(
        (status = 200, body = VolunteerView),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 404, description = "`not_found` (not a volunteer)", body = Problem),
    ))]
pub async fn mine(
    user: CurrentUser,
    db: web::Data<Db>,
    keys: web::Data<TicketKeys>,
) -> Result<HttpResponse, ApiError> {
    let volunteer = db
        .run(move |c| queries::volunteer(c, &user.id)?.ok_or(ApiError::from(Code::NotFound)))
        .await?;
    Ok(HttpResponse::Ok().json(view(volunteer, &keys)?))
}
