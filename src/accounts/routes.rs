//! `GET /me` and `PATCH /me`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{Profile, UserChanges, UserView, parse_locale, queries};
use crate::auth::CurrentUser;
use crate::db::{self, Db};
use crate::error::{ApiError, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::parse_fields;
use crate::validate::{birth_year, optional_text, text};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/me")
            .route(web::get().to(get_me))
            .route(web::patch().to(patch_me))
            .route(web::delete().to(super::personal::erase)),
    );
}

/// The signed-in user with their organization memberships.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 401, description = "`unauthenticated`", body = Problem),
    ))]
pub async fn get_me(
    user: CurrentUser,
    db: web::Data<Db>,
    profile: web::Data<Profile>,
) -> Result<HttpResponse, ApiError> {
    let view = db.run(move |c| profile.view(c, &user.id)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Fields to change; `null` clears `birth_year` or `accessibility_needs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    #[schema(example = "王阿姨")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[schema(value_type = Option<i64>, example = 1952)]
    pub birth_year: Option<Option<i64>>,
    /// `zh-CN` or `en`: the language of notifications and errors sent to the
    /// user. `language` is accepted as the same field (the contract's name).
    #[schema(example = "zh-CN")]
    #[serde(alias = "language")]
    pub locale: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[schema(value_type = Option<String>, example = "wheelchair; hard of hearing")]
    pub accessibility_needs: Option<Option<String>>,
}

impl PatchMe {
    fn parse(self) -> Result<UserChanges, ApiError> {
        parse_fields!(
            display_name = "display_name" => self.display_name.as_deref().map(|n| text(n, 1, 50)).transpose(),
            birth_year = "birth_year" => self.birth_year.map(birth_year).transpose(),
            locale = "locale" => self.locale.as_deref().map(|l| parse_locale(Some(l))).transpose(),
            accessibility_needs = "accessibility_needs" => self
                .accessibility_needs
                .map(|a| optional_text(a.as_deref(), 500))
                .transpose(),
        );
        Ok(UserChanges {
            display_name,
            birth_year,
            locale,
            accessibility_needs,
            updated_at: Some(db::now()),
        })
    }
}

/// Changes the signed-in user's profile.
#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts",
    security(("bearer" = [])),
    request_body = PatchMe,
    responses(
        (status = 200, body = UserView),
        (status = 400, description = "`invalid_body`", body = Problem),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn patch_me(
    Guarded(user, body): Guarded<CurrentUser, Json<PatchMe>>,
    db: web::Data<Db>,
    profile: web::Data<Profile>,
) -> Result<HttpResponse, ApiError> {
    let changes = body.into_inner().parse()?;
    let view = db
        .write(move |c| {
            queries::update(c, &user.id, &changes)?;
            profile.view(c, &user.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
