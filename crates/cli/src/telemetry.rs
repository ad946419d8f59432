//! Logging and tracing: JSON lines (or human-readable text) through `tracing`, filtered by the
//! configured level or `RUST_LOG`; and, when an OTLP endpoint is configured (`[tracing]`,
//! `--otlp-endpoint` or the standard `OTEL_EXPORTER_OTLP_*` variables), every span exported
//! to it as OpenTelemetry traces over OTLP/HTTP. Log lines inside a traced request or event
//! carry its `trace_id`.

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogConfig, LogFormat, Roles, TracingConfig};

/// Keeps the trace exporter alive; dropping it exports the spans still buffered. Drop it off
/// the async runtime's threads (the export may block briefly).
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "cannot flush the last spans");
        }
    }
}

/// Installs the global subscriber: the log format, and the trace export when configured.
pub fn init(log: &LogConfig, tracing: &TracingConfig, roles: &Roles) -> anyhow::Result<Telemetry> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.is_empty() => EnvFilter::try_new(value),
        _ => EnvFilter::try_new(&log.level),
    }
    .context("invalid log filter")?;
    let format: Box<dyn Layer<Registry> + Send + Sync> = match log.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let provider = tracer_provider(tracing, roles)?;
    let traces = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("tickler"))
            .with_tracked_inactivity(false)
    });
    tracing_subscriber::registry()
        .with(format)
        .with(traces)
        .with(filter)
        .try_init()
        .map_err(|error| anyhow::anyhow!("failed to install the logger: {error}"))?;
    if provider.is_some() {
        tracing::info!("exporting traces over OTLP");
    }
    Ok(Telemetry { provider })
}

/// Builds the tracer provider, or `None` when no endpoint is configured anywhere.
fn tracer_provider(
    settings: &TracingConfig,
    roles: &Roles,
) -> anyhow::Result<Option<SdkTracerProvider>> {
    let variable = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
    };
    if variable("OTEL_SDK_DISABLED").is_some_and(|value| value.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    let endpoint = settings.otlp_endpoint.trim();
    if endpoint.is_empty()
        && variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none()
        && variable("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
    {
        return Ok(None);
    }
    let mut exporter = opentelemetry_otlp::SpanExporter::builder().with_http();
    if !endpoint.is_empty() {
        exporter = exporter.with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')));
    }
    let exporter = exporter
        .build()
        .context("cannot set up the OTLP trace exporter")?;
    let mut resource = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "tickler.roles",
        Vec::<String>::from(roles.clone()).join(","),
    ));
    if !settings.service_name.trim().is_empty() {
        resource = resource.with_service_name(settings.service_name.trim().to_owned());
    } else if variable("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("tickler");
    }
    let mut builder = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build());
    if variable("OTEL_TRACES_SAMPLER").is_none() {
        builder = builder.with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.sampling_ratio,
        ))));
    }
    Ok(Some(builder.build()))
}
