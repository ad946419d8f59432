//! The web app's session over HTTP: `HttpOnly` cookies carrying the access and refresh tokens,
//! the CSRF header that every state-changing cookie-authenticated request must carry, and the
//! `Origin` checks on sign-in and WebSocket upgrades.
//!
//! | cookie | holds | path | `HttpOnly` | lifetime |
//! | --- | --- | --- | --- | --- |
//! | `tickler_access` | the JWT access token | `/` | yes | the token's (15 min) |
//! | `tickler_refresh` | the refresh token | `/api/v1/auth` | yes | the refresh token's (30 days) |
//! | `tickler_csrf` | the session's CSRF token | `/` | no: the page reads it | the refresh token's |
//!
//! All are `SameSite=Strict`, and `Secure` when the page was served over TLS (its `Origin`, or
//! `X-Forwarded-Proto` set by a TLS-terminating proxy, says `https`). A bearer `Authorization`
//! header always wins over cookies and needs no CSRF token: only the browser attaches cookies
//! on its own, so only cookie credentials can be abused by another site.

use std::fmt::Write as _;

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, header};
use tickler_app::SessionId;
use tickler_app::{App, AppError, Session};

/// The access token cookie.
pub const ACCESS_COOKIE: &str = "tickler_access";
/// The refresh token cookie.
pub const REFRESH_COOKIE: &str = "tickler_refresh";
/// The CSRF token cookie (readable by the page).
pub const CSRF_COOKIE: &str = "tickler_csrf";
/// The header a cookie-authenticated state-changing request must echo the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The only path the refresh cookie is sent to (refresh and logout).
pub const REFRESH_COOKIE_PATH: &str = "/api/v1/auth";

/// Returns the value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// Where a request says it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOrigin {
    /// No `Origin` header (a same-origin GET, or not a browser).
    Absent,
    /// A page of this server; `secure` when it was served over https.
    Same {
        /// Whether the page was served over TLS.
        secure: bool,
    },
    /// A page of another origin (or `Origin: null`).
    Foreign,
}

/// Compares the request's `Origin` with the host it was sent to (`Host`, or the
/// `X-Forwarded-Host` of a proxy that rewrote it: a page cannot set either on a cross-site
/// request without a CORS preflight, which this server never grants).
pub fn request_origin(headers: &HeaderMap) -> RequestOrigin {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return RequestOrigin::Absent;
    };
    let Some((scheme, authority)) = origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
    else {
        return RequestOrigin::Foreign;
    };
    let authority = authority.to_ascii_lowercase();
    let header_is = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').next())
            .is_some_and(|value| value.trim().eq_ignore_ascii_case(&authority))
    };
    if header_is(header::HOST.as_str()) || header_is("x-forwarded-host") {
        RequestOrigin::Same {
            secure: scheme.eq_ignore_ascii_case("https"),
        }
    } else {
        RequestOrigin::Foreign
    }
}

/// Whether cookies set in answer to this request get `Secure`.
pub fn served_over_tls(headers: &HeaderMap) -> bool {
    matches!(
        request_origin(headers),
        RequestOrigin::Same { secure: true }
    ) || headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("https"))
}

/// Fails unless the request comes from a page of this server (for sign-in in cookie mode,
/// where there is no session yet to bind a CSRF token to).
pub fn require_same_origin(headers: &HeaderMap) -> Result<(), AppError> {
    match request_origin(headers) {
        RequestOrigin::Same { .. } => Ok(()),
        RequestOrigin::Absent | RequestOrigin::Foreign => Err(AppError::OriginNotAllowed),
    }
}

/// Checks a request that carries `session`'s cookies: a state-changing method needs the
/// session's CSRF token in [`CSRF_HEADER`]; a WebSocket upgrade must come from this server's
/// pages (browsers send `Origin` on every upgrade); and any request naming a foreign `Origin`
/// is refused.
pub fn check_cookie_request(parts: &Parts, app: &App, session: SessionId) -> Result<(), AppError> {
    let origin = request_origin(&parts.headers);
    if origin == RequestOrigin::Foreign {
        return Err(AppError::OriginNotAllowed);
    }
    if is_websocket_upgrade(&parts.headers) && origin == RequestOrigin::Absent {
        return Err(AppError::OriginNotAllowed);
    }
    if !is_safe(&parts.method) {
        check_csrf(&parts.headers, app, session)?;
    }
    Ok(())
}

/// Fails unless the request carries `session`'s CSRF token.
pub fn check_csrf(headers: &HeaderMap, app: &App, session: SessionId) -> Result<(), AppError> {
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if app.csrf_token_matches(session, presented) {
        Ok(())
    } else {
        Err(AppError::CsrfTokenInvalid)
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// Adds the `Set-Cookie` headers of a session.
pub fn set_session_cookies(headers: &mut HeaderMap, session: &Session, secure: bool) {
    let refresh_age = session.refresh_expires_in;
    append_cookie(
        headers,
        ACCESS_COOKIE,
        &session.access_token,
        "/",
        session.expires_in,
        true,
        secure,
    );
    append_cookie(
        headers,
        REFRESH_COOKIE,
        &session.refresh_token,
        REFRESH_COOKIE_PATH,
        refresh_age,
        true,
        secure,
    );
    append_cookie(
        headers,
        CSRF_COOKIE,
        &session.csrf_token,
        "/",
        refresh_age,
        false,
        secure,
    );
}

/// Adds `Set-Cookie` headers that delete the session's cookies.
pub fn clear_session_cookies(headers: &mut HeaderMap, secure: bool) {
    append_cookie(headers, ACCESS_COOKIE, "", "/", 0, true, secure);
    append_cookie(
        headers,
        REFRESH_COOKIE,
        "",
        REFRESH_COOKIE_PATH,
        0,
        true,
        secure,
    );
    append_cookie(headers, CSRF_COOKIE, "", "/", 0, false, secure);
}

fn append_cookie(
    headers: &mut HeaderMap,
    name: &str,
    value: &str,
    path: &str,
    max_age: u64,
    http_only: bool,
    secure: bool,
) {
    let mut cookie = format!("{name}={value}; Path={path}; Max-Age={max_age}; SameSite=Strict");
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    if max_age == 0 {
        let _ = write!(cookie, "; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    }
    // Tokens are base64url or JWT text: always a valid header value.
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn cookies_are_found_by_exact_name_across_headers() {
        let map = headers(&[
            ("cookie", "tickler_accessx=no; other=1"),
            ("cookie", "tickler_access=abc.def; tickler_csrf=xyz"),
        ]);
        assert_eq!(cookie(&map, ACCESS_COOKIE), Some("abc.def"));
        assert_eq!(cookie(&map, CSRF_COOKIE), Some("xyz"));
        assert_eq!(cookie(&map, REFRESH_COOKIE), None);
        assert_eq!(
            cookie(&headers(&[("cookie", "tickler_access=")]), ACCESS_COOKIE),
            None
        );
    }

    #[test]
    fn the_origin_must_name_the_host_the_request_was_sent_to() {
        let same = headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert_eq!(request_origin(&same), RequestOrigin::Same { secure: false });
        let proxied = headers(&[
            ("origin", "https://Tasks.Example.org"),
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "tasks.example.org"),
        ]);
        assert_eq!(
            request_origin(&proxied),
            RequestOrigin::Same { secure: true }
        );
        assert!(served_over_tls(&proxied));
        let foreign = headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert_eq!(request_origin(&foreign), RequestOrigin::Foreign);
        let null = headers(&[("origin", "null"), ("host", "127.0.0.1:8080")]);
        assert_eq!(request_origin(&null), RequestOrigin::Foreign);
        let other_port = headers(&[
            ("origin", "http://127.0.0.1:9090"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert_eq!(request_origin(&other_port), RequestOrigin::Foreign);
        assert_eq!(
            request_origin(&headers(&[("host", "h")])),
            RequestOrigin::Absent
        );
        assert!(require_same_origin(&headers(&[("host", "h")])).is_err());
    }

    #[test]
    fn session_cookies_are_strict_http_only_and_secure_over_tls() {
        let mut map = HeaderMap::new();
        clear_session_cookies(&mut map, true);
        let cookies: Vec<&str> = map
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap())
            .collect();
        assert_eq!(cookies.len(), 3);
        assert!(
            cookies[0].starts_with(
                "tickler_access=; Path=/; Max-Age=0; SameSite=Strict; HttpOnly; Secure"
            )
        );
        assert!(cookies[1].contains("Path=/api/v1/auth;"));
        assert!(!cookies[2].contains("HttpOnly"));
    }
}
