//! Middleware around every route: request ids, tracing spans, metrics, problem responses for
//! errors raised outside handlers, body limits, timeouts and panic containment.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::{HeaderValue, StatusCode, header};
use metrics::{Counter, Gauge, Histogram, Label, SharedString};
use tickler_protocol::problem::{PROBLEM_JSON, Problem};
use tower::{Layer, Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::client_address::TrustedProxies;
use crate::error::http_problem;
use crate::{ApiSettings, MAX_BODY_BYTES, MAX_IMPORT_BYTES};

/// The header carrying the request id in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest request id accepted from a client.
const MAX_REQUEST_ID_LEN: usize = 128;
/// Error bodies larger than this are not rewritten.
const MAX_REWRITTEN_BODY: usize = 64 * 1024;

/// The id of the current request: the client's `X-Request-Id` when it is sane, a new UUIDv7
/// otherwise. Logged on every line of the request and copied into events as `correlationid`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Wraps the router with every middleware, outermost first: [`RequestLayer`] (request id,
/// client address, metrics, problem rendering), tracing, timeout, panic containment, body
/// limits. `uploads` (imports) get a larger body limit and no timeout: they stream for as long
/// as the upload lasts.
///
/// The middlewares run per route (the request id, metrics and span need the route template
/// the router matched), and `Router::layer` boxes each layer around every route: a route's
/// service is cloned for each request (`axum::routing::Route::oneshot_inner`), and cloning a
/// box clones the box inside it, so each layer applied on its own cost a clone, an allocation
/// and a free per request. So each router gets the whole stack as one layer
/// ([`ServiceBuilder`]), one box; and [`RequestLayer`] does the work of four
/// `axum::middleware::from_fn` middlewares, each of which cloned the whole stack below it on
/// every request (callgrind, `scripts/bench-instructions`; docs/benchmarks.md).
pub fn wrap(router: Router, uploads: Router, settings: &ApiSettings) -> Router {
    let request = RequestLayer {
        proxies: Arc::new(settings.trusted_proxies.clone()),
        metrics: Arc::new(RequestMetricHandles::new()),
    };
    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span)
        .on_response(log_response);
    let uploads = uploads.layer(
        ServiceBuilder::new()
            .layer(request.clone())
            .layer(trace.clone())
            .layer(CatchPanicLayer::custom(handler_panicked))
            .layer(RequestBodyLimitLayer::new(MAX_IMPORT_BYTES))
            .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
    );
    router
        .layer(
            ServiceBuilder::new()
                .layer(request)
                .layer(trace)
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    settings.request_timeout,
                ))
                .layer(CatchPanicLayer::custom(handler_panicked))
                .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .merge(uploads)
}

/// Logs a finished request.
fn log_response<B>(response: &http::Response<B>, latency: Duration, _span: &tracing::Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1e3,
        "request finished"
    );
}

/// The span of a request, named by its route template; a client's `traceparent` makes the
/// request part of its trace.
fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.as_str())
        .unwrap_or("");
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id,
        trace_id = tracing::field::Empty,
        "otel.name" = %format_args!("{} {route}", request.method()),
        "otel.kind" = "server",
        "http.route" = route,
    );
    let traceparent = request
        .headers()
        .get("traceparent")
        .and_then(|value| value.to_str().ok());
    tickler_app::trace::continue_trace(&span, traceparent);
    tickler_app::trace::record_trace_id(&span);
    span
}

/// The outermost middleware of every route: gives the request its [`RequestId`] (echoed in
/// `X-Request-Id`) and its [`ClientAddress`](crate::client_address::ClientAddress), counts it
/// in the request metrics, and makes any error response a problem document carrying the
/// request id ([`render_problems`]).
#[derive(Debug, Clone)]
pub struct RequestLayer {
    proxies: Arc<TrustedProxies>,
    metrics: Arc<RequestMetricHandles>,
}

impl<S> Layer<S> for RequestLayer {
    type Service = RequestService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestService {
            inner,
            proxies: self.proxies.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

/// The service of [`RequestLayer`].
#[derive(Debug, Clone)]
pub struct RequestService<S> {
    inner: S,
    // Shared: axum clones a route's whole stack for every request.
    proxies: Arc<TrustedProxies>,
    metrics: Arc<RequestMetricHandles>,
}

impl<S, B> Service<Request> for RequestService<S>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible>,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let id = request_id(&request);
        request.extensions_mut().insert(RequestId(id.clone()));
        crate::client_address::record(&self.proxies, &mut request);
        let metrics = RequestMetrics::start(&self.metrics, &request);
        let response = self.inner.call(request);
        Box::pin(async move {
            let Ok(response) = response.await;
            let response = response.map(Body::new);
            let status = response.status();
            let mut response = render_problems(&id, response).await;
            metrics.finish(status);
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            Ok(response)
        })
    }
}

/// The client's `X-Request-Id` when it is sane, a new UUIDv7 otherwise.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            !value.is_empty()
                && value.len() <= MAX_REQUEST_ID_LEN
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// The request metrics' handles, each taken from the recorder the first time it is needed and
/// kept: looking a metric up by name and labels in the recorder's registry (a vector of
/// labels, hashing, a map) on every request cost 3,900 of `/health`'s 41,300 instructions
/// (callgrind, `scripts/bench-instructions`).
#[derive(Debug)]
struct RequestMetricHandles {
    in_flight: Gauge,
    /// By route template, then by method and status. Only the standard methods are kept, so
    /// the map is bounded by the routes, methods and status codes the server has.
    routes: RwLock<HashMap<Arc<str>, Vec<RouteHandles>>>,
}

#[derive(Debug)]
struct RouteHandles {
    method: http::Method,
    status: StatusCode,
    requests: Counter,
    duration: Histogram,
}

impl RouteHandles {
    fn is(&self, method: &http::Method, status: StatusCode) -> bool {
        self.status == status && self.method == *method
    }

    fn record(&self, elapsed: f64) {
        self.requests.increment(1);
        self.duration.record(elapsed);
    }
}

impl RequestMetricHandles {
    fn new() -> Self {
        Self {
            in_flight: metrics::gauge!("tickler_http_requests_in_flight"),
            routes: RwLock::new(HashMap::new()),
        }
    }

    /// Counts a finished request and records how long it took.
    fn record(&self, method: &http::Method, route: &str, status: StatusCode, elapsed: f64) {
        {
            let routes = self.routes.read().unwrap_or_else(|e| e.into_inner());
            let known = routes
                .get(route)
                .and_then(|handles| handles.iter().find(|known| known.is(method, status)));
            if let Some(known) = known {
                known.record(elapsed);
                return;
            }
        }
        let method_name = method_label(method);
        let created = RouteHandles {
            method: method.clone(),
            status,
            requests: metrics::counter!(
                "tickler_http_requests_total",
                vec![
                    Label::new("method", method_name.clone()),
                    Label::new("route", route.to_owned()),
                    Label::new("status", status_label(status)),
                ]
            ),
            duration: metrics::histogram!(
                "tickler_http_request_duration_seconds",
                vec![
                    Label::new("method", method_name),
                    Label::new("route", route.to_owned()),
                ]
            ),
        };
        created.record(elapsed);
        if is_standard(method) {
            let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
            let handles = routes.entry(Arc::from(route)).or_default();
            if !handles.iter().any(|known| known.is(method, status)) {
                handles.push(created);
            }
        }
    }
}

/// A request being counted: `tickler_http_requests_in_flight` while it lives (however it ends:
/// a cancelled request drops it too), then `tickler_http_requests_total` and
/// `tickler_http_request_duration_seconds` by method, route template and status.
struct RequestMetrics {
    handles: Arc<RequestMetricHandles>,
    method: http::Method,
    route: Option<MatchedPath>,
    started: Instant,
}

impl RequestMetrics {
    fn start(handles: &Arc<RequestMetricHandles>, request: &Request) -> Self {
        handles.in_flight.increment(1.0);
        Self {
            handles: handles.clone(),
            method: request.method().clone(),
            route: request.extensions().get::<MatchedPath>().cloned(),
            started: Instant::now(),
        }
    }

    fn finish(self, status: StatusCode) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let route = self.route.as_ref().map_or("unmatched", MatchedPath::as_str);
        self.handles.record(&self.method, route, status, elapsed);
    }
}

impl Drop for RequestMetrics {
    fn drop(&mut self) {
        self.handles.in_flight.decrement(1.0);
    }
}

fn handler_panicked(_panic: Box<dyn std::any::Any + Send>) -> Response {
    tracing::error!("request handler panicked");
    http_problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "an internal error occurred",
    )
}

/// The methods HTTP defines, with their names as label values.
const STANDARD_METHODS: [(http::Method, &str); 9] = [
    (http::Method::GET, "GET"),
    (http::Method::POST, "POST"),
    (http::Method::PATCH, "PATCH"),
    (http::Method::PUT, "PUT"),
    (http::Method::DELETE, "DELETE"),
    (http::Method::HEAD, "HEAD"),
    (http::Method::OPTIONS, "OPTIONS"),
    (http::Method::CONNECT, "CONNECT"),
    (http::Method::TRACE, "TRACE"),
];

fn is_standard(method: &http::Method) -> bool {
    STANDARD_METHODS
        .iter()
        .any(|(standard, _)| standard == method)
}

/// The method as a label value, without allocating for the standard ones.
fn method_label(method: &http::Method) -> SharedString {
    STANDARD_METHODS
        .iter()
        .find(|(standard, _)| standard == method)
        .map_or_else(
            || SharedString::from_owned(method.as_str().to_owned()),
            |(_, name)| SharedString::const_str(name),
        )
}

/// The status code as a label value, without allocating for the common ones.
fn status_label(status: StatusCode) -> SharedString {
    let name = match status.as_u16() {
        200 => "200",
        201 => "201",
        204 => "204",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        412 => "412",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        other => return SharedString::from_owned(other.to_string()),
    };
    SharedString::const_str(name)
}

/// Makes every error response a problem document carrying the request id, including the
/// ones produced outside handlers (unknown route, wrong method, timeout, body limit).
async fn render_problems(request_id: &str, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes() == PROBLEM_JSON.as_bytes());
    let (mut parts, body) = response.into_parts();
    let mut problem = if is_problem {
        match axum::body::to_bytes(body, MAX_REWRITTEN_BODY).await {
            Ok(bytes) => match serde_json::from_slice::<Problem>(&bytes) {
                Ok(problem) => problem,
                Err(_) => return Response::from_parts(parts, axum::body::Body::from(bytes)),
            },
            Err(_) => return fallback_problem(status),
        }
    } else {
        let (code, detail) = describe(status);
        Problem {
            problem_type: format!("/problems/{code}"),
            title: crate::error::title_of(status),
            status: status.as_u16(),
            detail: Some(detail.to_owned()),
            code: code.to_owned(),
            request_id: None,
            errors: Vec::new(),
        }
    };
    problem.request_id = Some(request_id.to_owned());
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

fn fallback_problem(status: StatusCode) -> Response {
    let (code, detail) = describe(status);
    http_problem(status, code, detail).into_response()
}

fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => ("route_not_found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not support the method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the request body has an unsupported media type",
        ),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => {
            ("timeout", "the request took too long; retry later")
        }
        status if status.is_server_error() => ("internal_error", "an internal error occurred"),
        _ => ("bad_request", "the request could not be processed"),
    }
}
