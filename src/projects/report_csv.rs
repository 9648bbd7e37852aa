//! The report in words people read: the Chinese names of the indicator
//! table's codes, numbers as people write them, and the CSV (one row per
//! indicator, Chinese headers, UTF-8 with BOM, formula-safe cells).

use super::report::Report;
use crate::error::ApiError;
use crate::http::csv;

/// Chinese words of the table's codes.
pub fn level1_zh(code: &str) -> &str {
    match code {
        "output" => "产出",
        "effect" => "效益",
        "satisfaction" => "满意度",
        "budget" => "预算执行",
        other => other,
    }
}

pub fn source_zh(code: &str) -> &str {
    match code {
        "sessions_held" => "活动场次（系统）",
        "attendances" => "服务人次（系统）",
        "unique_residents" => "服务居民数（系统）",
        "elderly_share" => "老年人占比（系统）",
        "satisfaction" => "满意度（系统）",
        "volunteer_hours" => "志愿服务时长（系统）",
        "budget_execution" => "预算执行率（系统）",
        "manual" => "手工填报",
        other => other,
    }
}

pub fn stage_zh(code: &str) -> &str {
    match code {
        "mid_term" => "中期",
        "final" => "结项",
        other => other,
    }
}

/// A number as people write it: `12`, `29.7`.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        two_decimals_at_most(x)
    }
}

fn two_decimals_at_most(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    let s = format!("{r:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn opt(x: Option<f64>) -> String {
    x.map(number).unwrap_or_default()
}

/// The report's CSV: one row per indicator, Chinese headers.
pub fn file(r: &Report) -> Result<Vec<u8>, ApiError> {
    let header = [
        "一级指标",
        "二级指标",
        "三级指标",
        "数据来源",
        "比较",
        "目标值",
        "单位",
        "权重",
        "实际值",
        "完成率（%）",
        "建议得分",
        "评估得分",
        "偏差说明",
        "回复率（%）",
    ];
    let rows = r.indicators.iter().map(|i| {
        let scores = i
            .scores
            .iter()
            .map(|s| format!("{} {} {}", stage_zh(&s.stage), s.reviewer, number(s.score)))
            .collect::<Vec<_>>()
            .join("；");
        vec![
            level1_zh(&i.level1).to_owned(),
            csv::cell(&i.level2),
            csv::cell(&i.name),
            source_zh(&i.source).to_owned(),
            i.op.clone(),
            number(i.target),
            csv::cell(&i.unit),
            i.weight.to_string(),
            opt(i.actual),
            opt(i.achievement_pct),
            opt(i.suggested_score),
            csv::cell(&scores),
            csv::cell(i.deviation_note.as_deref().unwrap_or_default()),
            opt(i.response_rate_pct),
        ]
    });
    csv::file(&header, rows)
}
