//! The conformance suite: backend-independent tests every [`crate::Store`] implementation must
//! pass. A backend implements [`TestBackend`] (a fresh, empty database per test) and invokes
//! [`conformance_tests!`](crate::conformance_tests) in one of its integration tests, which
//! generates one `#[tokio::test]` per case below. The cases are grouped by the trait of the port
//! they hold a backend to (`accounts`, `tasks`, `events`, `notifications`, `reminders`,
//! `conversations`), in modules of the same names:
//!
//! ```ignore
//! async fn fresh() -> Option<Box<dyn tickler_store::testing::TestBackend>> { ... }
//! tickler_store::conformance_tests!(fresh);
//! ```
//!
//! `fresh` returns `None` when the backend cannot run here (PostgreSQL without
//! `TICKLER_TEST_DATABASE_URL`); each test then passes without doing anything.

// Test code: a failed expectation must panic with a message, which is what these do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod backend;
mod conversations;
mod events;
mod fixtures;
mod notifications;
mod reminders;
mod tasks;

pub use accounts::*;
pub use backend::TestBackend;
pub use conversations::*;
pub use events::*;
pub use fixtures::*;
pub use notifications::*;
pub use reminders::*;
pub use tasks::*;

/// The store a backend opens is migrated and ready.
pub async fn a_migrated_store_is_ready(backend: &dyn TestBackend) {
    let store = backend.open().await;
    store.check_ready().await.unwrap();
}

/// Generates one `#[tokio::test]` per conformance case, each calling `$fresh()` for a new
/// [`TestBackend`] (skipping the case when it returns `None`).
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:path) => {
        $crate::conformance_tests!(@cases $fresh;
            // Store
            a_migrated_store_is_ready,
            // AccountStore
            a_registered_user_reads_back_by_id_and_by_email,
            operator_rights_are_granted_and_revoked_by_email,
            registering_an_email_twice_conflicts_with_email_taken,
            registering_a_user_id_twice_conflicts_with_already_exists,
            first_user_only_registration_is_refused_once_an_account_exists,
            racing_first_registrations_let_exactly_one_win,
            updating_a_user_changes_the_profile_and_optionally_the_password,
            unknown_users_are_not_found,
            api_tokens_are_found_by_secret_hash_with_their_owner,
            api_tokens_are_listed_newest_first_and_only_for_their_owner,
            deleting_an_api_token_is_scoped_to_its_owner,
            touching_an_api_token_records_its_last_use,
            a_reused_token_secret_hash_conflicts,
            a_refresh_token_rotates_once_and_its_reuse_revokes_the_session,
            an_expired_session_does_not_rotate,
            racing_refreshes_with_one_token_rotate_it_once,
            revoking_sessions_is_scoped_and_signing_out_everywhere_bumps_credentials,
            a_new_session_prunes_its_owners_expired_sessions,
            calendar_feeds_are_found_by_token_hash_and_listed_for_their_owner,
            revoking_a_calendar_feed_is_scoped_to_its_owner,
            a_reused_feed_token_hash_conflicts_and_an_unknown_owner_is_not_found,
            every_account_change_commits_with_its_audit_rows,
            a_failed_account_change_writes_no_audit_row,
            an_audit_row_that_cannot_be_written_undoes_its_change,
            // TaskStore
            a_tasks_owner_is_found_by_task_id_alone,
            a_committed_task_reads_back_equal,
            inserting_a_task_id_twice_conflicts_with_already_exists,
            a_change_set_whose_second_write_conflicts_leaves_nothing_behind,
            updating_with_a_stale_version_is_a_version_mismatch,
            updating_and_deleting_another_owners_task_is_not_found,
            a_deleted_task_disappears_from_every_read,
            an_update_replaces_tags_in_filters_search_and_counts,
            every_read_is_scoped_to_the_owner,
            an_idempotent_response_round_trips,
            reusing_an_idempotency_key_conflicts_and_rolls_back_the_whole_change,
            the_same_idempotency_key_of_two_users_does_not_conflict,
            purging_idempotent_responses_deletes_only_older_ones,
            an_id_range_reads_the_owners_tasks_in_id_order_up_to_the_limit,
            the_import_ledger_finds_earlier_imports_per_user_and_source,
            filtering_by_status_matches_any_of_the_given_statuses,
            filtering_by_priority_matches_any_of_the_given_priorities,
            filtering_by_tags_requires_all_of_them,
            due_before_is_exclusive_and_due_after_inclusive,
            due_filters_hold_under_a_due_date_order,
            overdue_lists_open_tasks_due_before_the_instant,
            filters_combine,
            each_sort_key_orders_both_directions_with_ties_broken_by_id,
            several_sort_keys_in_mixed_directions_order_key_by_key,
            tasks_without_a_due_date_come_last_in_both_directions,
            titles_sort_case_insensitively,
            the_default_order_is_newest_first,
            paging_through_every_order_neither_skips_nor_repeats,
            paging_while_tasks_are_inserted_never_repeats_or_skips_existing_tasks,
            the_last_page_has_no_next_cursor,
            a_cursor_that_does_not_fit_the_query_yields_an_empty_page,
            a_title_match_outranks_a_description_only_match,
            every_search_word_must_match_and_the_last_also_as_a_prefix,
            search_covers_titles_descriptions_and_tags,
            query_syntax_in_a_search_is_plain_text,
            search_ignores_case_and_handles_non_latin_scripts,
            search_results_page_by_relevance,
            a_relevance_search_ranks_only_the_newest_matches,
            search_combines_with_filters_and_other_orders,
            tag_counts_are_ordered_by_usage_then_name,
            tag_counts_filter_by_prefix_and_respect_the_limit,
            tasks_with_tag_returns_every_tagged_task_of_the_owner,
            a_series_lists_its_instances_by_sequence_for_their_owner_only,
            a_second_instance_with_the_same_sequence_number_is_refused,
            a_series_makes_each_next_instance_once,
            racing_advances_of_a_series_make_one_instance,
            an_ended_series_makes_no_further_instance,
            // EventStore
            outbox_records_are_read_in_commit_order_after_a_position,
            outbox_records_survive_reopening_the_store,
            a_failed_commit_appends_no_outbox_record,
            many_concurrent_commits_are_all_durable_and_visible,
            a_processed_event_absorbs_its_redelivery_with_no_second_effect,
            a_batch_of_markers_is_recorded_whole_or_not_at_all,
            racing_deliveries_of_one_event_take_effect_once,
            a_consumer_position_never_moves_backwards,
            the_audit_trail_reads_in_order_of_occurrence_scoped_filtered_and_paged,
            unpublished_outbox_records_are_read_in_order_until_marked_published,
            the_outbox_head_is_the_newest_readable_record,
            purging_the_outbox_keeps_unpublished_records_unless_told_otherwise,
            purging_the_outbox_never_passes_the_slowest_consumer,
            dead_letters_round_trip_and_list_oldest_first,
            a_lease_is_held_by_one_holder_until_it_expires_or_is_released,
            audit_rows_link_into_one_hash_chain_per_user,
            concurrent_appends_from_two_stores_keep_the_chain_intact,
            a_live_ticket_is_redeemed_once_before_it_expires,
            racing_redemptions_of_a_live_ticket_let_one_win,
            // NotificationStore
            channels_round_trip_and_are_scoped_to_their_owner,
            verification_mails_are_limited_per_owner_and_per_address,
            a_verification_code_is_single_use_expires_and_counts_wrong_guesses,
            a_second_in_app_channel_and_channels_beyond_the_limit_are_refused,
            a_reminder_notifies_its_user_once,
            in_app_notifications_are_listed_newest_first_and_marked_read,
            due_deliveries_are_claimed_once_until_their_lease_expires,
            a_finished_attempt_is_recorded_with_everything_it_causes,
            racing_claims_hand_each_delivery_to_one_claimant,
            // ReminderStore
            task_writes_schedule_reschedule_and_cancel_reminders,
            due_reminders_fire_once_with_their_events,
            racing_firings_fire_each_reminder_once,
            snoozing_moves_or_rearms_a_reminder,
            // ConversationStore
            a_conversation_keeps_its_messages_in_order_and_its_state,
            conversations_are_listed_most_recently_active_first,
            another_users_conversation_is_not_found,
        );
    };
    (@cases $fresh:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Some(backend) = $fresh().await {
                    $crate::testing::$case(&*backend).await;
                }
            }
        )*
    };
}
