//! W3C trace context between `tracing` spans and events: the `traceparent` an event carries
//! is the span that made the change, and whoever handles the event continues that trace.
//!
//! Spans belong to an OpenTelemetry trace only when the process exports traces (the binary
//! installs the `tracing-opentelemetry` layer); otherwise these functions find no trace and
//! do nothing, and events carry the `traceparent` a client sent, if any.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The `traceparent` (`00-<trace id>-<span id>-<flags>`) of `span`, when it is part of a trace.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_ref = context.span();
    let current = span_ref.span_context();
    current.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            current.trace_id(),
            current.span_id(),
            current.trace_flags().to_u8()
        )
    })
}

/// The `traceparent` of the current span.
pub fn current() -> Option<String> {
    traceparent(&tracing::Span::current())
}

/// Reads a W3C `traceparent` (version 00); `None` when it is malformed or all zeros.
pub fn parse(traceparent: &str) -> Option<SpanContext> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "00"
        || parts.next().is_some()
        || trace.len() != 32
        || span.len() != 16
        || flags.len() != 2
    {
        return None;
    }
    let context = SpanContext::new(
        TraceId::from_hex(trace).ok()?,
        SpanId::from_hex(span).ok()?,
        TraceFlags::new(u8::from_str_radix(flags, 16).ok()?),
        true,
        TraceState::default(),
    );
    context.is_valid().then_some(context)
}

/// Makes the span of `traceparent` the parent of `span` (which must not have been entered
/// yet); a malformed or absent one leaves `span` where it is.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(parent) = traceparent.and_then(parse) {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
    }
}

/// Records the trace id of `span` in its `trace_id` field (declared `Empty`), so that every log
/// line written inside it carries the id.
pub fn record_trace_id(span: &tracing::Span) {
    let context = span.context();
    let span_ref = context.span();
    let current = span_ref.span_context();
    if current.is_valid() {
        span.record("trace_id", current.trace_id().to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_is_read_and_refused_when_malformed() {
        let context = parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
        assert_eq!(
            context.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(context.span_id().to_string(), "b7ad6b7169203331");
        assert!(context.is_sampled() && context.is_remote());
        for bad in [
            "",
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "00-xyz7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn without_an_exporting_subscriber_spans_have_no_trace() {
        let span = tracing::info_span!("request", trace_id = tracing::field::Empty);
        continue_trace(
            &span,
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        );
        assert_eq!(traceparent(&span), None);
    }
}
