//! The simulator-only admin endpoint of `serve`, under `/_s3thaw/`: AWS has nothing like it.
//!
//! The simulator's clock is virtual: a 5-hour restore completes when the clock is moved, not
//! when 5 hours pass. A client that waits over the wire (s3thaw's `aws` backend running
//! `sleep("5h")` or `batch::wait`) must move the server's clock, or it would wait for real. So
//! the `aws` backend, when its endpoint answers `GET /_s3thaw/clock`, reads time from here and
//! turns its waits into these calls; against real AWS the endpoint does not exist and it sleeps.
//! Requests are SigV4-signed like every other request (any service name).
//!
//! - `GET  /_s3thaw/clock`: `{"now": RFC3339, "simulator": true}`
//! - `POST /_s3thaw/clock/advance?seconds=N`: moves the clock forward N seconds
//! - `POST /_s3thaw/clock/wait-step?deadline=RFC3339`: jumps to the next simulated event (a job
//!   step, a restore finishing or expiring), never past `deadline` (the simulator's `wait_step`)

use std::time::Duration;

use time::OffsetDateTime;

use super::{Request, Response, Server, s3};
use crate::backend::Backend;
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

pub fn handle(server: &Server, req: &Request) -> Response {
    let sim = &server.sim;
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
                sim.advance(Duration::from_secs_f64(seconds))?;
                Ok(clock(sim.now()?, sim.next_event()?).op("Admin.Advance"))
            }
            ("POST", "/_s3thaw/clock/wait-step") => {
                let deadline = parse_rfc3339(req.query("deadline").unwrap_or(""))
                    .map_err(|e| e.status(400))?;
                sim.wait_step(Duration::from_secs(1), deadline)?;
                Ok(clock(sim.now()?, sim.next_event()?).op("Admin.WaitStep"))
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
