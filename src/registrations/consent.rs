//! Separate consent for activities that reveal sensitive personal information
//! (PIPL Art. 28–29): counselling, health talks, legal aid and meal help. A
//! sign-up or walk-in to one of them carries `consent_sensitive: true`, and the
//! registration keeps the version of the text the resident agreed to.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Code};
use crate::events::Event;

/// The version of the consent text below; a new text gets a new version, and
/// registrations keep the version they were given under.
pub const VERSION: &str = "2026-11-24";

const ZH_CN: &str = "您报名的活动（心理咨询、健康讲座、法律援助或助餐服务）会让举办机构知道您的健康、家庭或法律方面的情况，这属于敏感个人信息。我们只把您的姓名、电话和报名情况提供给举办机构用于组织本次活动；活动结束后满服务公布的保存期限（MULIN_RETENTION_DAYS，默认 180 天），名单会被自动删除，只保留不含个人身份的人数统计。您可以随时在“我的”中查看、导出或删除您的个人信息。";
const EN: &str = "The activity you are signing up for (counselling, a health talk, legal aid or meal help) tells its organizer about your health, family or legal circumstances, which is sensitive personal information. We share your name, phone number and sign-up only with the organizing body, only to run this activity; the list is erased automatically once the retention period the service publishes has passed after the activity (MULIN_RETENTION_DAYS, 180 days by default), keeping only anonymous counts. You can see, export or delete your personal information at any time under \"Me\".";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/consent", web::get().to(text));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentText {
    #[schema(example = "2026-11-24")]
    pub version: &'static str,
    #[serde(rename = "zh-CN")]
    pub zh_cn: &'static str,
    pub en: &'static str,
}

/// The consent text for sensitive activities, with its version.
#[utoipa::path(get, path = "/api/v1/consent", tag = "registrations",
    responses((status = 200, body = ConsentText)))]
pub async fn text() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(ConsentText {
            version: VERSION,
            zh_cn: ZH_CN,
            en: EN,
        })
}

/// The consent version to store for taking part in `event`:
/// `Ok(None)` when the event needs no separate consent, `422
/// consent_required` when it does and none was given.
pub fn check(event: &Event, given: bool) -> Result<Option<&'static str>, ApiError> {
    match (event.is_sensitive(), given) {
        (false, _) => Ok(None),
        (true, true) => Ok(Some(VERSION)),
        (true, false) => Err(Code::ConsentRequired.into()),
    }
}
