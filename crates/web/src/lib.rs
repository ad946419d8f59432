//! tickler's web app: the page and its assets, embedded in the binary.
//!
//! The app is hand-written ES modules and CSS under `assets/` (no framework, no Node step);
//! `build.rs` gzips each file at build time and versions their URLs with a hash of their
//! content. [`router`] serves the page at `/` and the app's other paths (the client routes),
//! and the assets under `/assets/<version>/`, immutable. Every page carries a
//! Content-Security-Policy that allows scripts, styles, images and connections from this origin
//! only: no inline script, no other origin.
//!
//! The page talks only to the JSON API (`/api/v1`) and the live stream, like any other client;
//! this crate has no handler of its own besides static files, so it depends on nothing of
//! tickler's. It is a crate of its own so that editing an asset rebuilds only it and the
//! binary.

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Its path under `assets/`.
    pub path: &'static str,
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes.
    pub raw: &'static [u8],
    /// Its bytes gzipped.
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The policy of every page: this origin only, no inline script or style, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The paths of the app's screens; each serves the page, which shows the screen.
pub const PAGES: &[&str] = &[
    "/",
    "/today",
    "/upcoming",
    "/all",
    "/completed",
    "/search",
    "/chat",
    "/notifications",
    "/settings",
    "/signin",
    "/signup",
];

/// The routes of the web app: its pages and its assets.
pub fn router() -> Router {
    let mut router = Router::new();
    for page in PAGES {
        router = router.route(page, get(index));
    }
    router
        .route("/tasks/{id}", get(index))
        .route("/assets/{version}/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    let mut response = serve(&INDEX, &headers);
    let response_headers = response.headers_mut();
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response_headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    response_headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response_headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response_headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn asset(Path((version, path)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let found = ASSETS.iter().find(|asset| asset.path == path);
    match found {
        Some(asset) if version == VERSION => {
            let mut response = serve(asset, &headers);
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            response
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Answers an asset, gzipped when the client accepts it.
fn serve(asset: &'static Asset, request: &HeaderMap) -> Response {
    let gzip = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|parameter| {
                parameter
                    .trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0))
            });
            name.eq_ignore_ascii_case("gzip") && !refused
        });
    let mut response = if gzip {
        (
            [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))],
            asset.gzip,
        )
            .into_response()
    } else {
        asset.raw.into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The total compressed size of the scripts and styles the page loads (every module is
/// preloaded), for the size budget.
pub fn first_load_compressed_bytes() -> usize {
    ASSETS
        .iter()
        .filter(|asset| asset.path.ends_with(".js") || asset.path.ends_with(".css"))
        .map(|asset| asset.gzip.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_load_stays_within_150_kb_compressed() {
        let bytes = first_load_compressed_bytes();
        assert!(bytes > 0);
        assert!(
            bytes <= 150 * 1000,
            "{bytes} bytes of compressed JS and CSS"
        );
    }

    #[test]
    fn the_page_references_only_versioned_assets_that_exist() {
        let page = std::str::from_utf8(INDEX.raw).unwrap_or_default();
        let prefix = format!("/assets/{VERSION}/");
        let mut referenced = 0;
        for part in page.split('"') {
            if let Some(path) = part.strip_prefix(&prefix) {
                assert!(
                    ASSETS.iter().any(|asset| asset.path == path),
                    "{path} is referenced but not embedded"
                );
                referenced += 1;
            }
        }
        assert!(referenced >= 2, "{page}");
        assert!(!page.contains("<script>"), "no inline script");
        assert!(!page.contains("style="), "no inline style");
    }
}
