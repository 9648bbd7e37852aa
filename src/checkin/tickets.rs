//! QR tickets: a compact JWS signed with Ed25519 (`alg: EdDSA`, `kid` in the
//! header) holding the registration (`sub`), the event (`evt`), `party_size` and
//! `exp` — no personal data, short enough for a low-density QR code. The signing
//! key is generated once and kept in the database, so every instance signs with
//! it; `mulin keys rotate` adds a new one, and retired keys stay published until
//! the tickets they signed have expired.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::sealed::Sealer;
use crate::db::schema::ticket_keys;
use crate::db::{self, DbConn};
use crate::error::{ApiError, Code};

/// How long after its event ends a ticket stays valid.
pub const TICKET_GRACE: Duration = Duration::hours(12);
/// Retired keys are published this long after retirement (covers every ticket
/// they signed, since tickets expire at most this long after being issued for
/// an event at most two years ahead).
const RETIRED_KEPT: Duration = Duration::days(3 * 366);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TicketClaims {
    /// The registration.
    pub sub: String,
    /// The event.
    pub evt: String,
    pub party_size: i32,
    pub exp: i64,
    /// Absent on tickets; other codes signed with these keys (a volunteer's
    /// door code) carry their kind here and are refused as tickets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
}

/// A public key as a JWK, for staff phones that verify tickets offline.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    pub kid: String,
    #[schema(example = "OKP")]
    pub kty: String,
    #[schema(example = "Ed25519")]
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    #[schema(example = "EdDSA")]
    pub alg: String,
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub use_: String,
}

#[derive(Queryable)]
struct KeyRow {
    kid: String,
    private_key: String,
    public_x: String,
    retired_at: Option<NaiveDateTime>,
}

struct Keyring {
    signing: (String, EncodingKey),
    verifying: HashMap<String, DecodingKey>,
    public: Vec<Jwk>,
}

/// The ticket keys of this instance, reloaded from the database when a ticket
/// names a key it has not seen (another instance rotated).
pub struct TicketKeys {
    ring: RwLock<Keyring>,
    sealer: Arc<Sealer>,
}

fn new_key_row(sealer: &Sealer) -> Result<(String, String, String), ApiError> {
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let der = key
        .to_pkcs8_der()
        .map_err(|e| ApiError::internal(format!("encoding a ticket key: {e}")))?;
    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    let kid = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    Ok((kid, sealer.seal(&STANDARD.encode(der.as_bytes())), x))
}

/// Adds a fresh signing key (its private half sealed) and retires the others
/// (they keep verifying).
pub fn rotate(conn: &mut DbConn, sealer: &Sealer) -> Result<String, ApiError> {
    let (kid, private_key, public_x) = new_key_row(sealer)?;
    let now = db::now();
    diesel::update(ticket_keys::table.filter(ticket_keys::retired_at.is_null()))
        .set(ticket_keys::retired_at.eq(Some(now)))
        .execute(conn)?;
    diesel::insert_into(ticket_keys::table)
        .values((
            ticket_keys::kid.eq(&kid),
            ticket_keys::private_key.eq(private_key),
            ticket_keys::public_x.eq(public_x),
            ticket_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(kid)
}

/// Makes sure a signing key exists (start-up; another instance may have made
/// one meanwhile, in which case nothing is added).
///
/// Private keys stored before sealing existed are sealed here.
pub fn ensure_key(conn: &mut DbConn, sealer: &Sealer) -> Result<(), ApiError> {
    let active: i64 = ticket_keys::table
        .filter(ticket_keys::retired_at.is_null())
        .count()
        .get_result(conn)?;
    if active == 0 {
        rotate(conn, sealer)?;
    }
    let stored: Vec<(String, String)> = ticket_keys::table
        .select((ticket_keys::kid, ticket_keys::private_key))
        .load(conn)?;
    for (kid, private_key) in stored {
        if !Sealer::is_sealed(&private_key) {
            diesel::update(ticket_keys::table.find(&kid))
                .set(ticket_keys::private_key.eq(sealer.seal(&private_key)))
                .execute(conn)?;
        }
    }
    Ok(())
}

fn load(conn: &mut DbConn, sealer: &Sealer) -> Result<Keyring, ApiError> {
    let rows: Vec<KeyRow> = ticket_keys::table
        .select((
            ticket_keys::kid,
            ticket_keys::private_key,
            ticket_keys::public_x,
            ticket_keys::retired_at,
        ))
        .order(ticket_keys::created_at.desc())
        .load(conn)?;
    let now = db::now();
    let mut signing = None;
    let mut verifying = HashMap::new();
    let mut public = Vec::new();
    for row in rows {
        if row.retired_at.is_some_and(|at| now - at > RETIRED_KEPT) {
            continue;
        }
        if row.retired_at.is_none() && signing.is_none() {
            let der = STANDARD
                .decode(sealer.open(&row.private_key)?)
                .map_err(|e| ApiError::internal(format!("stored ticket key: {e}")))?;
            signing = Some((row.kid.clone(), EncodingKey::from_ed_der(&der)));
        }
        let decoding = DecodingKey::from_ed_components(&row.public_x)
            .map_err(|e| ApiError::internal(format!("stored ticket key: {e}")))?;
        verifying.insert(row.kid.clone(), decoding);
        public.push(Jwk {
            kid: row.kid,
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: row.public_x,
            alg: "EdDSA".into(),
            use_: "sig".into(),
        });
    }
    let signing = signing.ok_or_else(|| ApiError::internal("no active ticket key"))?;
    Ok(Keyring {
        signing,
        verifying,
        public,
    })
}

impl TicketKeys {
    pub fn load(conn: &mut DbConn, sealer: Arc<Sealer>) -> Result<TicketKeys, ApiError> {
        Ok(TicketKeys {
            ring: RwLock::new(load(conn, &sealer)?),
            sealer,
        })
    }

    fn poisoned() -> ApiError {
        ApiError::internal("ticket keyring lock poisoned")
    }

    /// Re-reads the keys (a rotation by any instance takes effect here: new
    /// tickets are signed with the newest key, every live key is published).
    pub fn reload(&self, conn: &mut DbConn) -> Result<(), ApiError> {
        let fresh = load(conn, &self.sealer)?;
        *self.ring.write().map_err(|_| Self::poisoned())? = fresh;
        Ok(())
    }

    pub fn public_keys(&self) -> Result<Vec<Jwk>, ApiError> {
        Ok(self
            .ring
            .read()
            .map_err(|_| Self::poisoned())?
            .public
            .clone())
    }

    pub fn sign(&self, claims: &TicketClaims) -> Result<String, ApiError> {
        self.sign_claims(claims)
    }

    /// Signs any claims with the current ticket key (tickets, volunteers' codes).
    pub fn sign_claims<C: Serialize>(&self, claims: &C) -> Result<String, ApiError> {
        let ring = self.ring.read().map_err(|_| Self::poisoned())?;
        let (kid, key) = &ring.signing;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = None;
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, key)
            .map_err(|e| ApiError::internal(format!("signing a ticket: {e}")))
    }

    /// The claims of a genuine, unexpired ticket, else `422 invalid_ticket`.
    /// `conn` is used only to pick up keys added by another instance.
    pub fn verify(&self, token: &str, conn: &mut DbConn) -> Result<TicketClaims, ApiError> {
        let claims: TicketClaims = self.verify_claims(token, conn, Code::InvalidTicket)?;
        if claims.typ.is_some() {
            return Err(Code::InvalidTicket.into());
        }
        Ok(claims)
    }

    /// Claims of type `C` signed by a live key and unexpired, else `invalid`.
    pub fn verify_claims<C: DeserializeOwned>(
        &self,
        token: &str,
        conn: &mut DbConn,
        invalid: Code,
    ) -> Result<C, ApiError> {
        let invalid = || ApiError::from(invalid);
        if token.len() > 2048 {
            return Err(invalid());
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid());
        }
        let kid = header.kid.ok_or_else(invalid)?;
        let known = self
            .ring
            .read()
            .map_err(|_| Self::poisoned())?
            .verifying
            .contains_key(&kid);
        if !known {
            self.reload(conn)?;
        }
        let ring = self.ring.read().map_err(|_| Self::poisoned())?;
        let key = ring.verifying.get(&kid).ok_or_else(invalid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 0;
        jsonwebtoken::decode::<C>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| invalid())
    }
}
