//! Request size limits: 1 MiB for every body but uploads, whether the size is announced in
//! `Content-Length` or only found while reading.

use axum::body::Body;
use http::{Method, StatusCode, header};
use tickler_api::MAX_BODY_BYTES;

use crate::support::{TestRouter, authorized};

/// A task creation padded with trailing whitespace (still valid JSON) to `size` bytes.
fn padded_task(size: usize) -> Vec<u8> {
    let mut body = br#"{"title": "padded"}"#.to_vec();
    body.resize(size, b' ');
    body
}

/// Splits a body into chunks of a stream, so its size is known only by reading it.
fn streamed(body: Vec<u8>) -> Body {
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .chunks(64 * 1024)
        .map(|chunk| Ok(bytes::Bytes::copy_from_slice(chunk)))
        .collect();
    Body::from_stream(futures::stream::iter(chunks))
}

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_a_413() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    for announced in [true, false] {
        for (size, status) in [
            (MAX_BODY_BYTES, StatusCode::CREATED),
            (MAX_BODY_BYTES + 1, StatusCode::PAYLOAD_TOO_LARGE),
        ] {
            let body = padded_task(size);
            let mut request = authorized(&token, Method::POST, "/api/v1/tasks")
                .header(header::CONTENT_TYPE, "application/json");
            let body = if announced {
                request = request.header(header::CONTENT_LENGTH, size);
                Body::from(body)
            } else {
                streamed(body)
            };
            let answer = router.send(request.body(body).unwrap()).await;
            if status == StatusCode::CREATED {
                assert_eq!(
                    answer.status, status,
                    "{size} bytes, announced: {announced}"
                );
                assert_eq!(answer.json()["title"], "padded");
            } else {
                answer.problem(status, "body_too_large");
            }
        }
    }
    // Only the two bodies within the limit made tasks.
    let answer = router
        .send_empty(&token, Method::GET, "/api/v1/tasks")
        .await;
    assert_eq!(answer.json()["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_announced_body_over_the_limit_is_refused_on_routes_that_read_none() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    let size = MAX_BODY_BYTES + 1;
    let answer = router
        .send(
            authorized(&token, Method::GET, "/api/v1/tasks")
                .header(header::CONTENT_LENGTH, size)
                .body(Body::from(vec![b' '; size]))
                .unwrap(),
        )
        .await;
    answer.problem(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
}

#[tokio::test]
async fn an_upload_may_exceed_the_body_limit() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    // An iCalendar file of one to-do, padded with a property readers ignore to twice the
    // limit of other bodies.
    let mut file = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n");
    let padding = format!("X-PADDING:{}\r\n", "x".repeat(60));
    while file.len() < 2 * MAX_BODY_BYTES {
        file.push_str(&padding);
    }
    file.push_str(
        "BEGIN:VTODO\r\nUID:big-1\r\nSUMMARY:Carried over\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
    );
    let boundary = "tickler-test-boundary";
    let mut body = Vec::new();
    for (name, value) in [("source", "ical"), ("dry_run", "true")] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.ics\"\r\nContent-Type: text/calendar\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.as_bytes());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let size = body.len();
    assert!(size > 2 * MAX_BODY_BYTES);
    let answer = router
        .send(
            authorized(&token, Method::POST, "/api/v1/imports")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .header(header::CONTENT_LENGTH, size)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let report = answer.json();
    assert_eq!(report["dry_run"], true, "{report}");
}
