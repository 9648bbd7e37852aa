//! `mulin serve --demo`: fills an empty database with a platform admin, three
//! centres, four organizations (one per category) with their staff, a dozen
//! residents and a week of published activities with some sign-ups, a street
//! office with a contracted purchased-service project and a month of its
//! delivery (see `projects`), and returns the logins to print.

mod projects;

use chrono::{Duration, TimeZone};
use diesel::prelude::*;

use crate::accounts::{User, queries as users};
use crate::auth::passwords::{self, Password};
use crate::centres::{Centre, queries as centres};
use crate::db::{self, Tx};
use crate::error::ApiError;
use crate::events::input::EventFields;
use crate::events::{Event, PUBLISHED, queries as events};
use crate::organizations::{Organization, Role, VERIFIED, queries as orgs};
use crate::registrations::seats;
use crate::volunteers::{
    APPROVED, Application, HoursRecord, Shift, Volunteer, queries as vq, tenths_of,
};

pub const PASSWORD: &str = "mulin-demo-2026";

/// One printed login.
pub struct Login {
    pub phone: String,
    pub who: String,
}

const CENTRES: [(&str, &str, &str, &str); 3] = [
    ("古美睦邻中心", "平吉路 100 号", "古美路街道", "闵行区"),
    ("塘桥睦邻中心", "蓝村路 200 号", "塘桥街道", "浦东新区"),
    ("天平睦邻中心", "天平路 300 号", "天平路街道", "徐汇区"),
];

/// (name, category, description, its weekly activity, event category, hour, capacity)
const ORGANIZATIONS: [(&str, &str, &str, &str, &str, u32, i32); 4] = [
    (
        "古美助老餐桌",
        "life_service",
        "为社区老人提供助餐与送餐服务",
        "助老餐桌：午餐",
        "meal_help",
        11,
        30,
    ),
    (
        "塘桥邻里互助会",
        "charity",
        "志愿服务与邻里互助",
        "志愿者服务日",
        "volunteering",
        14,
        20,
    ),
    (
        "天平社区花园队",
        "culture_sports",
        "社区花园、健身操与文化活动",
        "社区花园：一起种植",
        "garden",
        9,
        15,
    ),
    (
        "睦邻法律咨询站",
        "mediation",
        "房屋征收等法律咨询与矛盾调解",
        "房屋征收法律咨询",
        "legal_aid",
        15,
        8,
    ),
];

const RESIDENTS: [&str; 12] = [
    "王阿姨",
    "李伯伯",
    "张奶奶",
    "陈爷爷",
    "刘阿姨",
    "赵伯伯",
    "孙奶奶",
    "周爷爷",
    "吴阿姨",
    "郑伯伯",
    "Mary Chen",
    "小林",
];

fn person(phone: &str, name: &str, birth_year: i32, hash: &str, is_admin: bool) -> User {
    let now = db::now();
    User {
        id: uuid::Uuid::new_v4().to_string(),
        phone: phone.to_owned(),
        password_hash: hash.to_owned(),
        display_name: name.to_owned(),
        birth_year: Some(birth_year),
        locale: if name.is_ascii() {
            "en".into()
        } else {
            "zh-CN".into()
        },
        accessibility_needs: None,
        is_admin,
        created_at: now,
        updated_at: now,
        erased_at: None,
    }
}

fn activity(
    org: &Organization,
    centre: &Centre,
    title: &str,
    category: &str,
    day: i64,
    hour: u32,
    capacity: i32,
) -> Event {
    let now = db::now();
    let tz = centre.tz();
    let date = tz.from_utc_datetime(&now).date_naive() + Duration::days(day);
    let starts_at = date
        .and_hms_opt(hour, 0, 0)
        .and_then(|local| tz.from_local_datetime(&local).earliest())
        .map_or(now + Duration::days(day), |t| t.naive_utc());
    let mut fields = EventFields::basic(
        title,
        category,
        "一楼多功能厅",
        starts_at,
        starts_at + Duration::minutes(90),
        capacity,
    );
    fields.centre_id = Some(centre.id.clone());
    fields.description = Some(format!("{}主办，欢迎邻居们参加。", org.name));
    fields.accessibility = Some("无障碍通道".into());
    let mut event = Event::draft(&org.id, &org.created_by, &fields, None);
    event.status = PUBLISHED.into();
    event
}

/// Three past weeks of the organization's activity with a volunteer shift
/// each, and `volunteers` (residents who opted in) signed in and out at the
/// door by `staff`: verified hours for records, certificates and exports.
fn volunteer_weeks(
    c: &mut Tx<'_>,
    org: &Organization,
    centre: &Centre,
    title: &str,
    category: &str,
    staff_id: &str,
    volunteers: &[User],
) -> Result<(), ApiError> {
    let now = db::now();
    for (n, resident) in volunteers.iter().enumerate() {
        vq::insert_volunteer(
            c,
            &Volunteer {
                user_id: resident.id.clone(),
                volunteer_no: format!("V20260000{n:02}"),
                skills: r#"["送餐","陪伴老人"]"#.into(),
                availability: Some("工作日上午".into()),
                created_at: now,
                updated_at: now,
            },
        )?;
    }
    for week in 1..=3 {
        let event = activity(org, centre, title, category, -7 * week, 11, 30);
        events::insert(c, &event)?;
        let shift = Shift {
            id: uuid::Uuid::new_v4().to_string(),
            event_id: event.id.clone(),
            organization_id: org.id.clone(),
            role: "送餐志愿者".into(),
            starts_at: event.starts_at - Duration::minutes(60),
            ends_at: event.ends_at,
            slots: 5,
            approved: i32::try_from(volunteers.len()).unwrap_or(0),
            served_group: "独居老人".into(),
            content: "分装午餐并送到老人家中".into(),
            auto_approve: true,
            created_by: org.created_by.clone(),
            created_at: now,
        };
        vq::insert_shift(c, &shift)?;
        for (n, resident) in volunteers.iter().enumerate() {
            vq::insert_application(
                c,
                &Application {
                    id: uuid::Uuid::new_v4().to_string(),
                    shift_id: shift.id.clone(),
                    user_id: resident.id.clone(),
                    status: APPROVED.into(),
                    decided_by: None,
                    decided_at: Some(now),
                    created_at: now,
                },
            )?;
            let signed_in = shift.starts_at + Duration::minutes(5 * i64::try_from(n).unwrap_or(0));
            let signed_out = shift.ends_at - Duration::minutes(10);
            let day = centre.tz().from_utc_datetime(&signed_in).date_naive();
            vq::sign_in(c, &shift.id, &resident.id, day, signed_in, staff_id)?;
            if let Some((pair, _)) = vq::open_pair(c, &shift.id, &resident.id)? {
                vq::sign_out(c, &pair, signed_out, staff_id)?;
            }
            vq::insert_hours(
                c,
                &HoursRecord {
                    id: uuid::Uuid::new_v4().to_string(),
                    shift_id: shift.id.clone(),
                    organization_id: org.id.clone(),
                    user_id: resident.id.clone(),
                    day,
                    tenths: tenths_of(&[(signed_in, signed_out)], (shift.starts_at, shift.ends_at)),
                    backfilled: false,
                    reason: None,
                    in_at: None,
                    out_at: None,
                    recorded_by: staff_id.into(),
                    verified_by: Some(staff_id.into()),
                    verified_at: Some(signed_out),
                    created_at: signed_out,
                    updated_at: signed_out,
                },
            )?;
        }
    }
    Ok(())
}

/// Seeds the demo data when the database has no users; `None` otherwise.
pub fn seed(c: &mut Tx<'_>) -> Result<Option<Vec<Login>>, ApiError> {
    let existing: i64 = crate::db::schema::users::table
        .count()
        .get_result(c.conn())?;
    if existing > 0 {
        return Ok(None);
    }
    let password = Password::parse(PASSWORD).map_err(|_| ApiError::internal("demo password"))?;
    let hash = passwords::hash(&password)?;
    let mut logins = Vec::new();
    let admin = person("+8613800000000", "平台管理员", 1980, &hash, true);
    users::insert(c, &admin)?;
    logins.push(Login {
        phone: admin.phone.clone(),
        who: "platform admin".into(),
    });

    let mut all_centres = Vec::new();
    for (name, address, street, district) in CENTRES {
        let now = db::now();
        let centre = Centre {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.into(),
            address: address.into(),
            street: street.into(),
            district: district.into(),
            timezone: crate::centres::DEFAULT_TIMEZONE.into(),
            created_at: now,
            updated_at: now,
        };
        centres::insert(c, &centre)?;
        all_centres.push(centre);
    }

    let mut residents = Vec::new();
    for (i, name) in RESIDENTS.into_iter().enumerate() {
        let born = 1940 + i32::try_from(i * 3).unwrap_or(0);
        let resident = person(&format!("+861370000{i:04}"), name, born, &hash, false);
        users::insert(c, &resident)?;
        logins.push(Login {
            phone: resident.phone.clone(),
            who: format!("resident {name}"),
        });
        residents.push(resident);
    }

    for (i, (name, category, description, title, event_category, hour, capacity)) in
        ORGANIZATIONS.into_iter().enumerate()
    {
        let owner = person(
            &format!("+86139000000{i}0"),
            &format!("{name}负责人"),
            1975,
            &hash,
            false,
        );
        let staff = person(
            &format!("+86139000000{i}1"),
            &format!("{name}工作人员"),
            1990,
            &hash,
            false,
        );
        users::insert(c, &owner)?;
        users::insert(c, &staff)?;
        let now = db::now();
        let org = Organization {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.into(),
            category: category.into(),
            description: Some(description.into()),
            contact_phone: Some(format!("021-6400{i:04}")),
            status: VERIFIED.into(),
            created_by: owner.id.clone(),
            created_at: now,
            updated_at: now,
            person_in_charge: None,
        };
        orgs::create(c, &org)?;
        orgs::add_member(c, &org.id, &staff.id, Role::Staff)?;
        logins.push(Login {
            phone: owner.phone,
            who: format!("owner of {name}"),
        });
        logins.push(Login {
            phone: staff.phone,
            who: format!("staff of {name}"),
        });

        // A week of activities, the first one today, with a few residents signed up.
        let centre = &all_centres[i % all_centres.len()];
        if i == 1 {
            let clerk = person("+8613800000001", "街道科员", 1985, &hash, false);
            let evaluator = person("+8613800000002", "第三方评估师", 1982, &hash, false);
            users::insert(c, &clerk)?;
            users::insert(c, &evaluator)?;
            projects::seed(c, &clerk, &evaluator, &org, centre, &residents)?;
            logins.push(Login {
                phone: clerk.phone,
                who: format!("buyer staff of {}办事处", centre.street),
            });
            logins.push(Login {
                phone: evaluator.phone,
                who: "evaluator of its project".into(),
            });
        }
        if i == 0 {
            volunteer_weeks(
                c,
                &org,
                centre,
                title,
                event_category,
                &staff.id,
                &residents[..3],
            )?;
        }
        for day in 0..7 {
            let event = activity(&org, centre, title, event_category, day, hour, capacity);
            events::insert(c, &event)?;
            if event.starts_at > db::now() {
                for resident in residents
                    .iter()
                    .skip(i + usize::try_from(day).unwrap_or(0))
                    .take(5)
                {
                    seats::sign_up(c, &event.id, &resident.id, 1, None, true)?;
                }
            }
        }
    }
    Ok(Some(logins))
}
