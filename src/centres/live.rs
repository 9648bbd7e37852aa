//! The `centre:{id}` live topic: public (the hall screens and anyone else);
//! the centre must exist.

use serde_json::{Value, json};

use super::queries;
use crate::db::DbConn;
use crate::error::{ApiError, Code};
use crate::live::topics::{TopicPolicy, Viewer};

pub struct CentreTopic;

impl TopicPolicy for CentreTopic {
    fn snapshot(&self, conn: &mut DbConn, _viewer: &Viewer, id: &str) -> Result<Value, ApiError> {
        queries::find(conn, id)?.ok_or(ApiError::from(Code::NotFound))?;
        Ok(json!({}))
    }
}
