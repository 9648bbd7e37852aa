//! `mulin serve --demo`: fills an empty database with a platform admin, three
//! centres, four organizations (one per category) with their staff, and a dozen
//! residents, and returns the logins to print.

use crate::accounts::{User, queries as users};
use crate::auth::passwords::{self, Password};
use crate::centres::{Centre, queries as centres};
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::organizations::{Organization, Role, VERIFIED, queries as orgs};

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

const ORGANIZATIONS: [(&str, &str, &str); 4] = [
    (
        "古美助老餐桌",
        "life_service",
        "为社区老人提供助餐与送餐服务",
    ),
    ("塘桥邻里互助会", "charity", "志愿服务与邻里互助"),
    (
        "天平社区花园队",
        "culture_sports",
        "社区花园、健身操与文化活动",
    ),
    (
        "睦邻法律咨询站",
        "mediation",
        "房屋征收等法律咨询与矛盾调解",
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
    }
}

/// Seeds the demo data when the database has no users; `None` otherwise.
pub fn seed(conn: &mut DbConn) -> Result<Option<Vec<Login>>, ApiError> {
    use diesel::prelude::*;
    let existing: i64 = crate::db::schema::users::table.count().get_result(conn)?;
    if existing > 0 {
        return Ok(None);
    }
    let password = Password::parse(PASSWORD).map_err(|_| ApiError::internal("demo password"))?;
    let hash = passwords::hash(&password)?;
    db::write_tx(conn, |c| {
        let mut logins = Vec::new();
        let admin = person("+8613800000000", "平台管理员", 1980, &hash, true);
        users::insert(c, &admin)?;
        logins.push(Login {
            phone: admin.phone.clone(),
            who: "platform admin".into(),
        });

        for (name, address, street, district) in CENTRES {
            let now = db::now();
            centres::insert(
                c,
                &Centre {
                    id: uuid::Uuid::new_v4().to_string(),
                    name: name.into(),
                    address: address.into(),
                    street: street.into(),
                    district: district.into(),
                    timezone: crate::centres::DEFAULT_TIMEZONE.into(),
                    created_at: now,
                    updated_at: now,
                },
            )?;
        }

        for (i, (name, category, description)) in ORGANIZATIONS.into_iter().enumerate() {
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
        }

        for (i, name) in RESIDENTS.into_iter().enumerate() {
            let resident = person(
                &format!("+861370000{i:04}"),
                name,
                1940 + i32::try_from(i * 3).unwrap_or(0),
                &hash,
                false,
            );
            users::insert(c, &resident)?;
            logins.push(Login {
                phone: resident.phone,
                who: format!("resident {name}"),
            });
        }
        Ok(Some(logins))
    })
}
