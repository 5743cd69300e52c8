//! The virtual clock and the other simulator controls of an `s3thaw serve` the backend is
//! pointed at (simulator only).
//!
//! Against `s3thaw serve`, a restore takes 5 hours of *virtual* time: sleeping 5 real hours would
//! be wrong, and the server's clock would not move anyway. So when `--endpoint-url` is a loopback
//! address whose server answers `GET /_s3thaw/clock` (`s3thaw serve`'s admin endpoint), the
//! backend reads `now()` from there, turns `sleep` and `wait_step` into clock moves, and offers
//! the `sim::` controls (reset, faults, capacity, seeding, ...) by forwarding each one. Against
//! real AWS (or any other endpoint) the probe finds nothing and the backend sleeps for real.
//!
//! The admin calls are tiny HTTP/1.1 requests over a loopback socket, signed with SigV4 like
//! every other request (service name `s3thaw`). Failures the server reports come back with the
//! server's error code and message, as the simulator would raise them.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::errors::{Error, Result};
use crate::sigv4::{self, SignedRequest};
use crate::timefmt::{parse_rfc3339, rfc3339_millis};

/// Credentials for signing admin calls.
pub(super) struct Signing {
    pub credentials: sigv4::Credentials,
    pub session_token: Option<String>,
    pub region: String,
}

/// The clock of a `serve` instance.
pub(super) struct SimClock {
    /// `host:port` of the endpoint.
    authority: String,
}

/// `host:port` of a loopback `http://` endpoint URL, or `None` for anything else.
pub(super) fn loopback_authority(endpoint_url: &str) -> Option<String> {
    let rest = endpoint_url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?.to_string();
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()?
            .trim_start_matches('[')
            .to_string()
    } else {
        authority
            .rsplit_once(':')
            .map_or(authority.clone(), |(h, _)| h.to_string())
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback.then_some(authority)
}

impl SimClock {
    /// Asks the endpoint whether it is an `s3thaw serve` with a virtual clock.
    pub(super) fn probe(authority: &str, signing: &Signing) -> Option<SimClock> {
        let clock = SimClock {
            authority: authority.to_string(),
        };
        let answer = clock.call("GET", "/_s3thaw/clock", "", signing).ok()?;
        (answer.get("simulator") == Some(&Json::Bool(true))).then_some(clock)
    }

    pub(super) fn now(&self, signing: &Signing) -> Result<OffsetDateTime> {
        let answer = self.call("GET", "/_s3thaw/clock", "", signing)?;
        time_of(&answer)
    }

    pub(super) fn next_event(&self, signing: &Signing) -> Result<Option<OffsetDateTime>> {
        let answer = self.call("GET", "/_s3thaw/clock", "", signing)?;
        match answer.get("next_event") {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(t)) => parse_rfc3339(t).map(Some),
            Some(other) => Err(Error::internal(format!(
                "the s3thaw serve clock sent a next event that is not a time: {other}"
            ))),
        }
    }

    /// Moves the clock forward and returns the new time.
    pub(super) fn advance(&self, by: Duration, signing: &Signing) -> Result<OffsetDateTime> {
        let query = format!("seconds={}", by.as_secs_f64());
        time_of(&self.call("POST", "/_s3thaw/clock/advance", &query, signing)?)
    }

    pub(super) fn wait_step(&self, deadline: OffsetDateTime, signing: &Signing) -> Result<()> {
        let query = query(&[("deadline", Some(rfc3339_millis(deadline)))]);
        self.call("POST", "/_s3thaw/clock/wait-step", &query, signing)
            .map(drop)
    }

    /// Sets the clock (never backwards) and whether it is frozen; returns the time.
    pub(super) fn set_clock(
        &self,
        at: Option<OffsetDateTime>,
        frozen: bool,
        signing: &Signing,
    ) -> Result<OffsetDateTime> {
        let query = query(&[
            ("frozen", Some(frozen.to_string())),
            ("time", at.map(rfc3339_millis)),
        ]);
        time_of(&self.call("POST", "/_s3thaw/clock/set", &query, signing)?)
    }

    /// Any other control: `POST /_s3thaw/{name}` with the given parameters.
    pub(super) fn control(
        &self,
        name: &str,
        params: &[(&str, Option<String>)],
        signing: &Signing,
    ) -> Result<Json> {
        self.call("POST", &format!("/_s3thaw/{name}"), &query(params), signing)
    }

    fn call(&self, method: &str, path: &str, query: &str, signing: &Signing) -> Result<Json> {
        let failed = |why: String| {
            Error::new(
                "ServiceUnavailable",
                format!(
                    "the s3thaw serve clock at {} did not answer: {why}",
                    self.authority
                ),
            )
        };
        let headers = vec![("host".to_string(), self.authority.clone())];
        let unsigned = SignedRequest {
            method,
            raw_path: path,
            raw_query: query,
            headers: &headers,
            body: b"",
        };
        let signed = sigv4::sign(
            &unsigned,
            &signing.credentials,
            signing.session_token.as_deref(),
            &signing.region,
            "s3thaw",
            OffsetDateTime::now_utc(),
        );
        let mut request = format!(
            "{method} {path}{}{query} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: 0\r\n",
            if query.is_empty() { "" } else { "?" },
            self.authority
        );
        for (name, value) in &signed {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let address = self
            .authority
            .to_socket_addrs()
            .map_err(|e| failed(e.to_string()))?
            .next()
            .ok_or_else(|| failed("no address".into()))?;
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))
            .map_err(|e| failed(e.to_string()))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(|e| failed(e.to_string()))?;
        stream
            .write_all(request.as_bytes())
            .map_err(|e| failed(e.to_string()))?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .map_err(|e| failed(e.to_string()))?;
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| failed("a malformed HTTP response".into()))?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0);
        if status != 200 {
            return Err(
                server_error(status, body).unwrap_or_else(|| failed(format!("HTTP {status}")))
            );
        }
        serde_json::from_str(body).map_err(|e| failed(format!("not JSON: {e}")))
    }
}

/// A query string of the parameters that are present, each value encoded.
fn query(params: &[(&str, Option<String>)]) -> String {
    params
        .iter()
        .filter_map(|(name, value)| {
            let value = value.as_ref()?;
            Some(format!("{name}={}", sigv4::uri_encode(value, false)))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The error an admin call answered with (`<Error><Code>..</Code><Message>..</Message>`), as
/// the simulator raised it on the server.
fn server_error(status: u16, body: &str) -> Option<Error> {
    let element = |name: &str| {
        let start = body.find(&format!("<{name}>"))? + name.len() + 2;
        let end = body[start..].find(&format!("</{name}>"))? + start;
        Some(unescape(&body[start..end]))
    };
    let mut error =
        Error::new(element("Code")?, element("Message").unwrap_or_default()).status(status);
    if let Some(bucket) = element("BucketName") {
        error = error.bucket(&bucket);
    }
    if let Some(key) = element("Key") {
        error = error.key(&key);
    }
    Some(error)
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn time_of(answer: &Json) -> Result<OffsetDateTime> {
    let text = answer
        .get("now")
        .and_then(Json::as_str)
        .ok_or_else(|| Error::internal("the s3thaw serve clock sent no time"))?;
    parse_rfc3339(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_errors_keep_the_servers_code_and_message() {
        let body = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The bucket &lt;b&gt; does not exist</Message></Error>";
        let e = server_error(404, body).unwrap();
        assert_eq!(e.code, "NoSuchBucket");
        assert_eq!(e.message, "The bucket <b> does not exist");
        assert_eq!(e.status, Some(404));
        assert!(server_error(502, "Bad Gateway").is_none());
        assert_eq!(
            query(&[
                ("a", Some("x y".into())),
                ("b", None),
                ("c", Some("1".into()))
            ]),
            "a=x%20y&c=1"
        );
    }

    #[test]
    fn only_loopback_http_endpoints_are_probed() {
        assert_eq!(
            loopback_authority("http://127.0.0.1:9000").as_deref(),
            Some("127.0.0.1:9000")
        );
        assert_eq!(
            loopback_authority("http://localhost:9000/").as_deref(),
            Some("localhost:9000")
        );
        assert_eq!(
            loopback_authority("http://[::1]:9000").as_deref(),
            Some("[::1]:9000")
        );
        assert_eq!(loopback_authority("https://s3.amazonaws.com"), None);
        assert_eq!(loopback_authority("http://10.0.0.1:9000"), None);
    }
}
