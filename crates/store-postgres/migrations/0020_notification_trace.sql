-- The W3C trace context of the notifier's handling of the reminder, continued by each
-- delivery's span (docs/operations.md, Tracing). NULL when traces are not exported.
ALTER TABLE notifications ADD COLUMN traceparent TEXT;
