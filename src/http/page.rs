//! Paged listings: the page as JSON, and a `Link: <…>; rel="next"` header to the next page
//! when there may be one — the same for every listing, so a client follows `next` until
//! there is none.

use crate::domain::page::{Cursor, Page};
use axum::Json;
use axum::http::header::LINK;
use axum::http::{HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The most items a page of requests, grants, jobs, recertifications or escalations holds.
pub const MAX_PAGE: usize = 500;

/// The page asked for: `limit` (default and most 500) and `after` (the cursor of the
/// previous page's `next` link).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// At most this many (default and most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
    /// Where the page starts: the `after` of the previous page's `next` link.
    #[param(value_type = Option<crate::domain::formats::CursorText>)]
    pub after: Option<String>,
}

impl PageParams {
    /// The page asked for.
    pub fn parse(&self) -> Result<crate::domain::page::PageRequest, super::ApiError> {
        crate::domain::page::PageRequest::parse(
            self.limit,
            self.after.as_deref(),
            MAX_PAGE,
            MAX_PAGE,
        )
        .map_err(|e| crate::service::ServiceError::from(e).into())
    }
}

/// `body` as JSON, with a link to the next page (this call's query, with `param` set to
/// `next`) when `next` is given.
pub fn paged(uri: &Uri, body: impl Serialize, param: &str, next: Option<&str>) -> Response {
    let mut response = Json(body).into_response();
    if let Some(link) = next.and_then(|next| next_link(uri, param, next)) {
        response.headers_mut().insert(LINK, link);
    }
    response
}

/// A page of a listing as JSON, with the link to the next one through its cursor, `after`.
pub fn page_response<T: Serialize>(uri: &Uri, page: Page<T>) -> Response {
    paged(
        uri,
        &page.items,
        "after",
        page.next.as_ref().map(Cursor::as_str),
    )
}

/// `</path?query&param=value>; rel="next"` for this call's `uri`.
pub fn next_link(uri: &Uri, param: &str, value: &str) -> Option<HeaderValue> {
    let mut query: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).ok()?;
    query.retain(|(key, _)| key != param);
    query.push((param.to_owned(), value.to_owned()));
    // Percent-encoded, so always a valid header value.
    let query = serde_urlencoded::to_string(query).ok()?;
    HeaderValue::from_str(&format!("<{}?{query}>; rel=\"next\"", uri.path())).ok()
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn the_next_link_keeps_the_query_and_replaces_the_cursor() {
        let uri = "/v1/requests?status=pending&after=old&limit=2"
            .parse()
            .unwrap();
        let link = next_link(&uri, "after", "req_1|x").unwrap();
        assert_eq!(
            link.to_str().unwrap(),
            "</v1/requests?status=pending&limit=2&after=req_1%7Cx>; rel=\"next\""
        );
    }
}
