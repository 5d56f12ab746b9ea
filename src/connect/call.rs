//! One HTTP call to a vendor: sent within the connector's concurrency and pace, classified
//! into an answer or a [`CallError`], with the vendor's rate-limit headers read against the
//! answer's own `Date`.

use super::pace::Link;
use crate::domain::ProviderCall;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use std::time::{Duration, Instant, SystemTime};

/// Why a call did not give the answer asked for. Reasons are sanitised: they name the
/// vendor's status and error code, never a credential or a header.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// May pass if tried again: 429, 5xx, a timeout or a dropped connection.
    #[error("{reason}")]
    Retryable {
        /// Why.
        reason: String,
        /// How long the vendor asked to wait, if it said.
        retry_after: Option<Duration>,
        /// The answer, when there was one.
        call: Option<ProviderCall>,
    },
    /// The vendor refused the credentials (401, or the token endpoint refused them): the
    /// connector stops calling until they are replaced.
    #[error("{reason}")]
    CredentialsRefused {
        /// Why.
        reason: String,
        /// The answer.
        call: Option<ProviderCall>,
    },
    /// Will not pass if tried again as it is (400, 403, 404 for the user, …).
    #[error("{reason}")]
    Rejected {
        /// Why.
        reason: String,
        /// The answer.
        call: Option<ProviderCall>,
    },
}

impl CallError {
    /// The answer the vendor gave, if there was one.
    pub fn call(&self) -> Option<&ProviderCall> {
        match self {
            Self::Retryable { call, .. }
            | Self::CredentialsRefused { call, .. }
            | Self::Rejected { call, .. } => call.as_ref(),
        }
    }
}

/// A vendor's answer, read whole.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: Vec<u8>,
    /// The headers.
    pub headers: HeaderMap,
    /// Status and request id, for the job's record.
    pub call: ProviderCall,
}

impl Reply {
    /// The body as JSON of type `T`; a body that does not parse is the vendor's fault and
    /// may pass later.
    pub fn json<T: serde::de::DeserializeOwned>(&self, vendor: &str) -> Result<T, CallError> {
        serde_json::from_slice(&self.body).map_err(|_| CallError::Retryable {
            reason: format!(
                "{vendor} answered {} with a body clearance cannot read",
                self.status.as_u16()
            ),
            retry_after: None,
            call: Some(self.call.clone()),
        })
    }

    /// The error for an answer the caller did not expect, classified by its status;
    /// `detail` is the vendor's sanitised error code and summary.
    pub fn unexpected(&self, vendor: &str, detail: &str) -> CallError {
        let status = self.status.as_u16();
        let reason = match detail {
            "" => format!("{vendor} answered {status}"),
            d => format!("{vendor} answered {status}: {d}"),
        };
        let call = Some(self.call.clone());
        match status {
            429 | 500 | 502 | 503 | 504 => CallError::Retryable {
                reason,
                retry_after: retry_after(&self.headers),
                call,
            },
            401 => CallError::CredentialsRefused { reason, call },
            _ => CallError::Rejected { reason, call },
        }
    }
}

/// Sends `request` through `link` (its concurrency limit and pace); reads the whole answer.
pub async fn send(
    link: &Link,
    vendor: &str,
    request_id_header: &str,
    request: RequestBuilder,
) -> Result<Reply, CallError> {
    let _permit = link.permit().await;
    link.wait_turn().await;
    let started = Instant::now();
    let failed = |e: reqwest::Error| {
        link.record_transport_error();
        transport(vendor, &e)
    };
    let response = request.send().await.map_err(failed)?;
    let status = response.status();
    let headers = response.headers().clone();
    link.observe(&headers);
    let body = response.bytes().await.map_err(failed)?.to_vec();
    link.record_latency(started.elapsed(), status.as_u16());
    let call = ProviderCall {
        status: status.as_u16(),
        request_id: header(&headers, request_id_header)
            .filter(|id| id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()))
            .map(str::to_owned),
    };
    Ok(Reply {
        status,
        body,
        headers,
        call,
    })
}

fn transport(vendor: &str, error: &reqwest::Error) -> CallError {
    // reqwest's messages can quote the URL; the kind is enough and names nothing secret.
    let what = if error.is_timeout() {
        "did not answer in time"
    } else if error.is_connect() {
        "could not be reached"
    } else {
        "dropped the connection"
    };
    CallError::Retryable {
        reason: format!("{vendor} {what}"),
        retry_after: None,
        call: None,
    }
}

/// A header's value as text.
pub fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The answer's `Date`, or now when it has none.
fn answered_at(headers: &HeaderMap) -> SystemTime {
    header(headers, "date")
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .unwrap_or_else(SystemTime::now)
}

/// How long the vendor asked to wait: `Retry-After` (seconds, or a date measured against the
/// answer's `Date`), else Okta's `X-Rate-Limit-Reset` (epoch seconds, measured the same way).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(value) = header(headers, "retry-after") {
        if let Ok(secs) = value.trim().parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(at.duration_since(answered_at(headers)).unwrap_or_default());
        }
    }
    reset_in(headers)
}

/// The time until `X-Rate-Limit-Reset`, measured against the answer's `Date` so that a
/// skewed local clock does not matter.
pub fn reset_in(headers: &HeaderMap) -> Option<Duration> {
    let reset = header(headers, "x-rate-limit-reset")?
        .trim()
        .parse::<u64>()
        .ok()?;
    let reset = SystemTime::UNIX_EPOCH + Duration::from_secs(reset);
    Some(
        reset
            .duration_since(answered_at(headers))
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn waits_are_measured_against_the_answers_date() {
        let date = "Fri, 04 Dec 2026 10:00:00 GMT";
        // 10:00:00 UTC on that day, plus 30 s.
        let reset = (httpdate::parse_http_date(date).unwrap() + Duration::from_secs(30))
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string();
        let h = headers(&[("date", date), ("x-rate-limit-reset", &reset)]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(30)));
        let h = headers(&[("date", date), ("retry-after", "2")]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        let h = headers(&[
            ("date", date),
            ("retry-after", "Fri, 04 Dec 2026 10:00:07 GMT"),
        ]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        // A reset already past means no wait.
        let h = headers(&[("date", date), ("x-rate-limit-reset", "1")]);
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers(&[])), None);
    }
}
