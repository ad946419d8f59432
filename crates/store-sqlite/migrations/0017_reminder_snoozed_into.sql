-- A fired (or missed) reminder the user snoozed names the reminder that replaces it, so the
-- notifier drops deliveries of the old one that are still being retried (issue 11, stale
-- notifications). NULL when it was not snoozed after firing.
ALTER TABLE scheduled_reminders ADD COLUMN snoozed_into BLOB;
