//! The printable report page, `GET /reports/projects/{id}?k=…`, in Chinese:
//! the indicator table (target, actual, achievement, suggested and given
//! scores, deviation notes), sessions and attendance per month as bar charts
//! drawn by the server as inline SVG, the feedback summary and the anomalies.
//! No script runs on it; it prints on A4. A browser holds no token, so the
//! page is opened through a read-only link that
//! `POST /projects/{id}/report/links` signs for 10 minutes.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::report::{self, Month, Report};
use super::report_csv::{level1_zh, number, source_zh, stage_zh};
use super::{access, queries};
use crate::auth::CurrentUser;
use crate::checkin::tickets::TicketKeys;
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Problem};

/// How long a report link stays valid.
const LINK_LIFETIME: Duration = Duration::minutes(10);
const LINK_TYP: &str = "report";

#[derive(Debug, Serialize, Deserialize)]
struct LinkClaims {
    /// The project.
    sub: String,
    typ: String,
    exp: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportLink {
    /// The printable page, readable without a token until `expires_at`.
    #[schema(example = "/api/v1/reports/projects/0b9c…?k=eyJ…")]
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A 10-minute read-only link to the printable report (same readers as the report).
#[utoipa::path(post, path = "/api/v1/projects/{id}/report/links", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 201, body = ReportLink),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn link(
    user: CurrentUser,
    db: web::Data<Db>,
    keys: web::Data<TicketKeys>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let project = {
        let id = id.clone();
        db.run(move |c| {
            let a = access::load(c, &id, &user, false)?;
            a.require(a.reads_report())?;
            Ok(a.project.id)
        })
        .await?
    };
    let expires_at = db::now() + LINK_LIFETIME;
    let token = keys.sign_claims(&LinkClaims {
        sub: project.clone(),
        typ: LINK_TYP.into(),
        exp: expires_at.and_utc().timestamp(),
    })?;
    Ok(HttpResponse::Created().json(ReportLink {
        url: format!("/api/v1/reports/projects/{id}?k={token}"),
        expires_at: expires_at.and_utc(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LinkQuery {
    /// The signed key from `POST /projects/{id}/report/links`.
    pub k: String,
}

/// The printable report page (Chinese, A4), through a read-only link.
#[utoipa::path(get, path = "/api/v1/reports/projects/{id}", tag = "projects",
    params(("id" = String, Path), LinkQuery),
    responses(
        (status = 200, description = "The page", content_type = "text/html"),
        (status = 403, description = "`invalid_link` (unknown, tampered with or expired)", body = Problem),
    ))]
pub async fn show(
    db: web::Data<Db>,
    keys: web::Data<TicketKeys>,
    id: web::Path<String>,
    q: web::Query<LinkQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let keys = keys.into_inner();
    let token = q.into_inner().k;
    let report = db
        .run(move |c| {
            let claims: LinkClaims = keys.verify_claims(&token, c, Code::InvalidLink)?;
            // The clock is the service's (the test clock moves it too).
            if claims.typ != LINK_TYP
                || claims.sub != id
                || claims.exp < db::now().and_utc().timestamp()
            {
                return Err(Code::InvalidLink.into());
            }
            let project = queries::find(c, &id)?.ok_or(ApiError::from(Code::InvalidLink))?;
            report::compute(c, &project, None)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        ))
        .body(render(&report)))
}

/// Text safe inside HTML.
fn esc(text: &str) -> String {
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

fn status_zh(code: &str) -> &str {
    match code {
        "draft" => "草稿",
        "open" => "公开招标",
        "reviewing" => "评标中",
        "contracted" => "执行中",
        "mid_term_review" => "中期评估",
        "final_review" => "结项评估",
        "closed" => "已结项",
        "cancelled" => "已取消",
        other => other,
    }
}

/// `>=` as `≥`, `<=` as `≤` (narrower in the table).
fn op_sign(op: &str) -> &str {
    match op {
        ">=" => "≥",
        "<=" => "≤",
        other => other,
    }
}

/// A bar chart of one figure per month, drawn as SVG.
pub fn bar_chart(title: &str, months: &[Month], value: impl Fn(&Month) -> i64) -> String {
    const W: f64 = 680.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 40.0;
    const BOTTOM: f64 = 36.0;
    const TOP: f64 = 28.0;
    let max = months.iter().map(&value).max().unwrap_or(0).max(1);
    let n = months.len().max(1) as f64;
    let slot = (W - LEFT - 10.0) / n;
    let bar = (slot * 0.6).min(48.0);
    let plot = H - BOTTOM - TOP;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\">\
         <text x=\"{LEFT}\" y=\"16\" font-size=\"13\" fill=\"#222\">{t}</text>\
         <line x1=\"{LEFT}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#888\"/>",
        t = esc(title),
        y0 = H - BOTTOM,
        x1 = W - 10.0,
    );
    for (i, m) in months.iter().enumerate() {
        let v = value(m);
        let h = plot * v as f64 / max as f64;
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let y = H - BOTTOM - h;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"#2f6f9f\"/>\
             <text x=\"{cx:.1}\" y=\"{ty:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#222\">{v}</text>\
             <text x=\"{cx:.1}\" y=\"{my:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#555\">{label}</text>",
            cx = x + bar / 2.0,
            ty = (y - 4.0).max(TOP - 2.0),
            my = H - BOTTOM + 16.0,
            label = esc(&m.month),
        ));
    }
    svg.push_str("</svg>");
    svg
}

const CSS: &str = "
@page { size: A4; margin: 15mm 12mm; }
* { box-sizing: border-box; }
body { font-family: 'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif;
       color: #222; margin: 0 auto; max-width: 186mm; font-size: 10.5pt; line-height: 1.45; }
h1 { font-size: 17pt; margin: 0 0 4pt; }
h2 { font-size: 12.5pt; margin: 14pt 0 6pt; border-bottom: 1px solid #bbb; padding-bottom: 2pt; }
.meta { color: #444; margin: 0 0 6pt; }
.frozen { display: inline-block; border: 1px solid #2f6f9f; color: #2f6f9f; padding: 0 6pt; border-radius: 3pt; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; font-size: 8.8pt; }
th, td { border: 1px solid #999; padding: 2pt 3pt; vertical-align: top; word-wrap: break-word; overflow-wrap: anywhere; }
th { background: #eef3f7; font-weight: 600; }
td.n { text-align: right; white-space: nowrap; }
tr { page-break-inside: avoid; break-inside: avoid; }
svg { width: 100%; height: auto; display: block; page-break-inside: avoid; break-inside: avoid; }
.charts { display: block; }
.summary td, .summary th { text-align: center; }
.note { color: #555; font-size: 8.5pt; }
@media print { body { max-width: none; } a { color: inherit; text-decoration: none; } }
";

/// The page for a report.
pub fn render(r: &Report) -> String {
    let mut h = String::with_capacity(16_384);
    h.push_str("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.push_str(&format!(
        "<title>{} 绩效评价报告</title><style>{CSS}</style></head><body>",
        esc(&r.project.title)
    ));
    h.push_str(&format!("<h1>{} 绩效评价报告</h1>", esc(&r.project.title)));
    let org = r
        .organization
        .as_ref()
        .map(|o| {
            let mut text = esc(&o.name);
            if let Some(p) = &o.person_in_charge {
                text.push_str(&format!("（负责人：{}", esc(p)));
                if let Some(phone) = &o.contact_phone {
                    text.push_str(&format!("，电话：{}", esc(phone)));
                }
                text.push('）');
            }
            text
        })
        .unwrap_or_else(|| "（尚未签约）".into());
    h.push_str(&format!(
        "<p class=\"meta\">承接组织：{org}　服务期：{} 至 {}　项目状态：{}</p>",
        r.period.starts_on,
        r.period.ends_on,
        status_zh(&r.project.status)
    ));
    match r.frozen_at {
        Some(at) => h.push_str(&format!(
            "<p class=\"meta\"><span class=\"frozen\">报告已冻结</span> 冻结时间：{}（UTC）</p>",
            at.format("%Y-%m-%d %H:%M")
        )),
        None => h.push_str(&format!(
            "<p class=\"meta note\">数据截至 {}（UTC），由系统根据签到、评价、志愿服务和支出记录计算；手工填报项注明填报人。</p>",
            db::now().format("%Y-%m-%d %H:%M")
        )),
    }

    h.push_str("<h2>一、绩效指标</h2><table><colgroup>");
    for w in [8, 9, 12, 11, 11, 9, 8, 7, 8, 17] {
        h.push_str(&format!("<col style=\"width:{w}%\">"));
    }
    h.push_str("</colgroup><thead><tr><th>一级指标</th><th>二级指标</th><th>三级指标</th><th>数据来源</th>\
                <th>目标值</th><th>实际值</th><th>完成率</th><th>权重</th><th>建议得分</th><th>评估得分与偏差说明</th></tr></thead><tbody>");
    for i in &r.indicators {
        let actual = match i.actual {
            Some(a) => format!("{} {}", number(a), esc(&i.unit)),
            None => "—".into(),
        };
        let pct = i
            .achievement_pct
            .map_or("—".into(), |p| format!("{}%", number(p)));
        let suggested = i.suggested_score.map_or("—".into(), number);
        let mut notes: Vec<String> = i
            .scores
            .iter()
            .map(|s| {
                format!(
                    "{}·{}：{}",
                    stage_zh(&s.stage),
                    esc(&s.reviewer),
                    number(s.score)
                )
            })
            .collect();
        if let Some(rate) = i.response_rate_pct {
            notes.push(format!("回复率 {}%", number(rate)));
        }
        if let (Some(note), Some(by)) = (&i.actual_note, &i.actual_by) {
            notes.push(format!("填报：{}（{}）", esc(note), esc(by)));
        }
        if let Some(d) = &i.deviation_note {
            notes.push(format!("偏差说明：{}", esc(d)));
        }
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}{} {}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            level1_zh(&i.level1),
            esc(&i.level2),
            esc(&i.name),
            source_zh(&i.source),
            op_sign(&i.op),
            number(i.target),
            esc(&i.unit),
            actual,
            pct,
            i.weight,
            suggested,
            notes.join("<br>"),
        ));
    }
    let total_suggested: f64 = r.indicators.iter().filter_map(|i| i.suggested_score).sum();
    h.push_str(&format!(
        "<tr><th colspan=\"7\">合计</th><td class=\"n\">100</td><td class=\"n\">{}</td><td></td></tr></tbody></table>",
        number((total_suggested * 10.0).round() / 10.0)
    ));

    h.push_str("<h2>二、月度服务情况</h2><div class=\"charts\">");
    h.push_str(&bar_chart("每月活动场次", &r.monthly, |m| m.sessions));
    h.push_str(&bar_chart("每月服务人次", &r.monthly, |m| {
        m.attendances
    }));
    h.push_str("</div><table class=\"summary\"><thead><tr><th>月份</th><th>活动场次</th><th>服务人次</th><th>服务居民数</th></tr></thead><tbody>");
    for m in &r.monthly {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.month),
            m.sessions,
            m.attendances,
            m.unique_residents
        ));
    }
    h.push_str("</tbody></table>");

    h.push_str("<h2>三、居民评价</h2>");
    let mean = r.feedback.mean.map_or("—".into(), number);
    h.push_str(&format!(
        "<p>共收到评价 {} 份，平均 {} 分（满分 5 分）。评价均为匿名。</p><table class=\"summary\"><thead><tr>",
        r.feedback.count, mean
    ));
    for s in (1..=5).rev() {
        h.push_str(&format!("<th>{s} 分</th>"));
    }
    h.push_str("</tr></thead><tbody><tr>");
    for s in (1..=5).rev() {
        let n = r
            .feedback
            .distribution
            .get(&s.to_string())
            .copied()
            .unwrap_or(0);
        h.push_str(&format!("<td>{n}</td>"));
    }
    h.push_str("</tr></tbody></table>");

    h.push_str("<h2>四、异常情况</h2>");
    h.push_str(&format!(
        "<p>离线签到冲突：{} 次（同一票码被两台设备扫描，以最早一次为准；不计入服务人次）。</p>",
        r.anomalies.offline_conflicts
    ));
    h.push_str("<p class=\"note\">本报告由睦邻平台生成。建议得分 = 权重 × min(完成率, 100%)，保留一位小数。</p>");
    h.push_str("</body></html>");
    h
}
