//! `bare`: an axum server that answers `GET /task` with a fixed JSON body of a task's size and
//! nothing else (no middleware, no authentication, no store): the ceiling a tickler route is
//! compared with in the same run (`scripts/bench` and `scripts/bench-instructions`).

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::routing::get;

/// A task body as tickler returns it (about the same bytes and fields).
const TASK: &str = r#"{"id":"019aeb5c-7f3e-7a41-9c55-2b0e6f1d8a90","title":"call the plumber about the boiler 19","description":"the pressure drops overnight","status":"todo","priority":"high","due_at":"2026-12-24T09:30:00Z","all_day":false,"timezone":"UTC","tags":["errand","home"],"recurrence":null,"recurrence_mode":"fixed","reminders":["-PT30M"],"created_at":"2026-12-06T19:02:11.482913Z","updated_at":"2026-12-06T19:02:11.482913Z","completed_at":null,"version":1,"series_id":"019aeb5c-7f3e-7a41-9c55-2b0e6f1d8a90","sequence":1}"#;

/// Serves until killed; prints `listening on http://ADDR` once bound.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let router = Router::new().route(
        "/task",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], TASK) }),
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
