//! Service certificates (志愿服务记录证明), free and on request: each issue
//! gets a new number and freezes what it certifies — the verified hours of a
//! period, per organization that recorded them (谁记录谁证明), with its
//! person in charge and contact. Anyone holding the number can open the
//! printable page to check it.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::records::days;
use super::{hours, hours_text, queries};
use crate::auth::CurrentUser;
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::organizations::queries as orgs;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateRequest {
    /// First day, `YYYY-MM-DD` (default: a year before `to`).
    #[schema(example = "2026-01-01")]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today).
    #[schema(example = "2026-11-22")]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CertifiedVolunteer {
    pub name: String,
    pub volunteer_no: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CertifyingOrganization {
    pub name: String,
    /// 负责人: the organization's first owner.
    pub person_in_charge: Option<String>,
    pub contact_phone: Option<String>,
    pub hours: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Certificate {
    #[schema(example = "MLZ20261122-3F9A1C2B7D")]
    pub certificate_no: String,
    pub volunteer: CertifiedVolunteer,
    pub organizations: Vec<CertifyingOrganization>,
    pub total_hours: f64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub issued_at: DateTime<Utc>,
}

/// The volunteer asks for a certificate of their verified hours in a period.
#[utoipa::path(post, path = "/api/v1/me/volunteer/certificates", tag = "volunteers",
    security(("bearer" = [])),
    request_body = CertificateRequest,
    responses(
        (status = 201, body = Certificate),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 409, description = "`not_volunteer`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn issue(
    Guarded(user, body): Guarded<CurrentUser, Json<CertificateRequest>>,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    let (from, to) = days(body.from.as_deref(), body.to.as_deref())?;
    let certificate = db
        .write(move |tx| {
            let volunteer =
                queries::volunteer(tx, &user.id)?.ok_or(ApiError::from(Code::NotVolunteer))?;
            let name = crate::accounts::queries::find(tx, &user.id)?.display_name;
            let mut per_org: BTreeMap<String, i64> = BTreeMap::new();
            for (record, _) in queries::hours_of_user(tx, &user.id, None, Some((from, to)))? {
                *per_org.entry(record.organization_id).or_default() += i64::from(record.tenths);
            }
            let mut organizations = Vec::new();
            for (org_id, tenths) in &per_org {
                let Some(org) = orgs::find(tx, org_id)? else {
                    continue;
                };
                organizations.push(CertifyingOrganization {
                    person_in_charge: orgs::person_in_charge(tx, org_id)?,
                    name: org.name,
                    contact_phone: org.contact_phone,
                    hours: hours(*tenths),
                });
            }
            let now = db::now();
            let number = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
            let certificate = Certificate {
                certificate_no: format!("MLZ{}-{}", now.format("%Y%m%d"), &number[..10]),
                volunteer: CertifiedVolunteer {
                    name,
                    volunteer_no: volunteer.volunteer_no,
                },
                organizations,
                total_hours: hours(per_org.values().sum()),
                from,
                to,
                issued_at: now.and_utc(),
            };
            let body = serde_json::to_string(&certificate)
                .map_err(|e| ApiError::internal(format!("certificate: {e}")))?;
            queries::insert_certificate(tx, &certificate.certificate_no, &user.id, &body, now)?;
            Ok(certificate)
        })
        .await?;
    Ok(HttpResponse::Created().json(certificate))
}

/// The certificate with this number: a printable page in Chinese, or the
/// JSON issued (`Accept: application/json`).
#[utoipa::path(get, path = "/api/v1/certificates/{no}", tag = "volunteers",
    params(("no" = String, Path, description = "certificate number")),
    responses(
        (status = 200, content_type = "text/html", body = String, description = "the printable page; JSON with `Accept: application/json`"),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn show(
    req: HttpRequest,
    db: web::Data<Db>,
    no: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let no = no.into_inner();
    if no.len() > 40 {
        return Err(Code::NotFound.into());
    }
    let body = db
        .run(move |c| queries::certificate(c, &no)?.ok_or(ApiError::from(Code::NotFound)))
        .await?;
    let certificate: Certificate = serde_json::from_str(&body)
        .map_err(|e| ApiError::internal(format!("stored certificate: {e}")))?;
    let wants_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return Ok(HttpResponse::Ok().json(certificate));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(page(&certificate)))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn tenths(hours: f64) -> String {
    hours_text((hours * 10.0).round() as i64)
}

/// The page: one A4 sheet, large type, nothing loaded from elsewhere.
fn page(c: &Certificate) -> String {
    let rows: String = c
        .organizations
        .iter()
        .map(|o| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&o.name),
                escape(o.person_in_charge.as_deref().unwrap_or("—")),
                escape(o.contact_phone.as_deref().unwrap_or("—")),
                tenths(o.hours),
            )
        })
        .collect();
    let shanghai = c.issued_at.with_timezone(&chrono_tz::Asia::Shanghai);
    format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>志愿服务记录证明 {no}</title>
<style>
@page {{ size: A4; margin: 20mm; }}
body {{ font-family: "Noto Serif CJK SC", "Songti SC", "SimSun", serif; font-size: 18px; line-height: 1.8; color: #111; max-width: 170mm; margin: 0 auto; padding: 1em; }}
h1 {{ text-align: center; font-size: 30px; letter-spacing: .3em; margin: .5em 0 1em; }}
table {{ width: 100%; border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #333; padding: .4em .6em; text-align: left; }}
td.n {{ text-align: right; }}
.meta {{ margin-top: 2em; font-size: 16px; }}
.note {{ font-size: 15px; color: #333; margin-top: 1.5em; }}
</style></head><body>
<h1>志愿服务记录证明</h1>
<p>兹证明 <strong>{name}</strong>（志愿者编号 {vno}）于 {from} 至 {to} 期间参加志愿服务，经记录并审核的服务时长共计 <strong>{total} 小时</strong>。</p>
<table><thead><tr><th>记录组织</th><th>负责人</th><th>联系电话</th><th>服务时长（小时）</th></tr></thead>
<tbody>{rows}</tbody></table>
<div class="meta">证明编号：{no}<br>出具日期：{date}</div>
<p class="note">本证明依据《志愿服务记录与证明出具办法》，由记录服务时长的组织如实记录、免费出具（谁记录谁证明）。持证明编号可在睦邻平台查验本证明。</p>
</body></html>
"#,
        no = escape(&c.certificate_no),
        name = escape(&c.volunteer.name),
        vno = escape(&c.volunteer.volunteer_no),
        from = c.from.format("%Y年%m月%d日"),
        to = c.to.format("%Y年%m月%d日"),
        total = tenths(c.total_hours),
        date = shanghai.format("%Y年%m月%d日"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_on_the_page() {
        assert_eq!(escape("<b>张&\"'"), "&lt;b&gt;张&amp;&quot;&#39;");
        assert_eq!(tenths(2.7), "2.7");
        assert_eq!(tenths(0.0), "0.0");
    }
}
