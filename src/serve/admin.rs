//! The simulator-only admin endpoint of `serve`, under `/_s3thaw/`: AWS has nothing like it.
//!
//! The simulator's clock is virtual: a 5-hour restore completes when the clock is moved, not
//! when 5 hours pass. A client that waits over the wire (s3thaw's `aws` backend running
//! `sleep("5h")` or `batch::wait`) must move the server's clock, or it would wait for real. So
//! the `aws` backend, when its endpoint answers `GET /_s3thaw/clock`, reads time from here and
//! turns its waits into these calls; against real AWS the endpoint does not exist and it sleeps.
//! The other simulator controls (`sim::reset`, `sim::set_faults`, ...) are here too, so the
//! `sim::` functions work through `serve` as on the simulator: one call each, answered from the
//! simulator's [`SimControls`]. Requests are SigV4-signed like every other request (any
//! service name); errors are S3-style XML.
//!
//! - `GET  /_s3thaw/clock`: `{"now": RFC3339, "next_event": RFC3339 or null, "simulator": true}`
//! - `POST /_s3thaw/clock/advance?seconds=N`: moves the clock forward N seconds
//! - `POST /_s3thaw/clock/wait-step?deadline=RFC3339`: jumps to the next simulated event (a job
//!   step, a restore finishing or expiring), never past `deadline` (the simulator's `wait_step`)
//! - `POST /_s3thaw/clock/set?frozen=BOOL[&time=RFC3339]`: sets the clock
//!
//! The other controls answer `{"ok": true}` (`seed-objects`: `{"count": N}`):
//! - `POST /_s3thaw/reset`
//! - `POST /_s3thaw/seed?seed=N`
//! - `POST /_s3thaw/seed-objects?bucket=B&count=N&prefix=P&storage_class=C&size=N`
//! - `POST /_s3thaw/faults?throttle_rate=F&error_rate=F&seed=N`
//! - `POST /_s3thaw/capacity?jobs=N`
//! - `POST /_s3thaw/access-tier?bucket=B&key=K[&tier=T]` (no tier: the frequent tier)

use std::time::Duration;

use time::OffsetDateTime;

use super::{Request, Response, Server, s3};
use crate::backend::{Backend, Faults, SimControls};
use crate::errors::Error;
use crate::timefmt::{parse_rfc3339, rfc3339_millis};

pub const PREFIX: &str = "/_s3thaw/";

fn clock(now: OffsetDateTime, next: Option<OffsetDateTime>) -> Response {
    let body = serde_json::json!({
        "simulator": true,
        "now": rfc3339_millis(now),
        "next_event": next.map(rfc3339_millis),
    });
    Response::new(200)
        .header("content-type", "application/json")
        .body(body.to_string().into_bytes())
}

fn ok(answer: serde_json::Value) -> Response {
    Response::new(200)
        .header("content-type", "application/json")
        .body(answer.to_string().into_bytes())
}

/// A required query parameter, parsed.
fn param<T: std::str::FromStr>(req: &Request, name: &str) -> Result<T, Error> {
    let text = req
        .query(name)
        .ok_or_else(|| Error::invalid_argument(format!("{name} is required")).status(400))?;
    text.parse()
        .map_err(|_| Error::invalid_argument(format!("{name} `{text}` is not valid")).status(400))
}

pub fn handle(server: &Server, req: &Request) -> Response {
    let sim = &server.sim;
    let controls: &dyn SimControls = sim;
    let result = (|| -> Result<Response, Error> {
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/_s3thaw/clock") => Ok(clock(sim.now()?, sim.next_event()?).op("Admin.Clock")),
            ("POST", "/_s3thaw/clock/advance") => {
                let seconds: f64 = req
                    .query("seconds")
                    .and_then(|s| s.parse().ok())
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| {
                        Error::invalid_argument("seconds must be a number >= 0").status(400)
                    })?;
                let by = crate::timefmt::duration_from_secs(seconds).map_err(|e| e.status(400))?;
                controls.advance(by).map_err(|e| e.status(400))?;
                Ok(clock(sim.now()?, sim.next_event()?).op("Admin.Advance"))
            }
            ("POST", "/_s3thaw/clock/wait-step") => {
                let deadline = parse_rfc3339(req.query("deadline").unwrap_or(""))
                    .map_err(|e| e.status(400))?;
                sim.wait_step(Duration::from_secs(1), deadline)?;
                Ok(clock(sim.now()?, sim.next_event()?).op("Admin.WaitStep"))
            }
            ("POST", "/_s3thaw/clock/set") => {
                let at = req
                    .query("time")
                    .map(parse_rfc3339)
                    .transpose()
                    .map_err(|e| e.status(400))?;
                let frozen = param::<bool>(req, "frozen")?;
                let now = controls.set_clock(at, frozen)?;
                Ok(clock(now, sim.next_event()?).op("Admin.SetClock"))
            }
            ("POST", "/_s3thaw/reset") => {
                controls.reset()?;
                Ok(ok(serde_json::json!({"ok": true})).op("Admin.Reset"))
            }
            ("POST", "/_s3thaw/seed") => {
                controls.set_seed(param(req, "seed")?)?;
                Ok(ok(serde_json::json!({"ok": true})).op("Admin.SetSeed"))
            }
            ("POST", "/_s3thaw/seed-objects") => {
                let bucket: String = param(req, "bucket")?;
                let prefix: String = param(req, "prefix")?;
                let count = controls.seed_objects(
                    &bucket,
                    param(req, "count")?,
                    &prefix,
                    param(req, "storage_class")?,
                    param(req, "size")?,
                )?;
                Ok(ok(serde_json::json!({"count": count})).op("Admin.SeedObjects"))
            }
            ("POST", "/_s3thaw/faults") => {
                controls.set_faults(Faults {
                    throttle_rate: param(req, "throttle_rate")?,
                    error_rate: param(req, "error_rate")?,
                    seed: param(req, "seed")?,
                })?;
                Ok(ok(serde_json::json!({"ok": true})).op("Admin.SetFaults"))
            }
            ("POST", "/_s3thaw/capacity") => {
                controls.set_capacity(param(req, "jobs")?)?;
                Ok(ok(serde_json::json!({"ok": true})).op("Admin.SetCapacity"))
            }
            ("POST", "/_s3thaw/access-tier") => {
                let bucket: String = param(req, "bucket")?;
                let key: String = param(req, "key")?;
                let tier = req.query("tier").map(str::parse).transpose()?;
                controls.set_access_tier(&bucket, &key, tier)?;
                Ok(ok(serde_json::json!({"ok": true})).op("Admin.SetAccessTier"))
            }
            _ => Err(Error::new(
                "NotImplemented",
                format!("no admin operation {} {}", req.method, req.path),
            )
            .status(501)),
        }
    })();
    result.unwrap_or_else(|e| s3::error_response(req, &e).op(format!("Admin {}", e.code)))
}
