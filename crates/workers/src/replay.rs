//! Replaying dead letters with the consumer that gave up on them.

use std::collections::HashMap;

use async_trait::async_trait;
use tickler_app::DeadLetterReplayer;
use tickler_store::DeadLetter;
use tokio_util::sync::CancellationToken;

use crate::consumer::{Outcome, Processor};

/// Routes each dead letter to its consumer's processor.
#[derive(Debug, Clone, Default)]
pub struct Replayer {
    processors: HashMap<&'static str, Processor>,
}

impl Replayer {
    /// Knows these consumers.
    pub fn new(processors: impl IntoIterator<Item = Processor>) -> Self {
        Self {
            processors: processors
                .into_iter()
                .map(|processor| (processor.consumer().name(), processor))
                .collect(),
        }
    }
}

#[async_trait]
impl DeadLetterReplayer for Replayer {
    async fn replay(&self, letter: &DeadLetter) -> Result<(), String> {
        let processor = self
            .processors
            .get(letter.consumer.as_str())
            .ok_or_else(|| format!("no consumer named {:?} in this build", letter.consumer))?;
        // One attempt: the operator sees at once whether the cause is fixed.
        let outcome = processor
            .process(
                &letter.topic,
                letter.payload.as_bytes(),
                false,
                &CancellationToken::new(),
            )
            .await
            .map_err(|error| error.to_string())?;
        match outcome {
            Outcome::Handled | Outcome::Duplicate | Outcome::Skipped => Ok(()),
            Outcome::Rejected => Err("it names a task of another user and was dropped".to_owned()),
            Outcome::Retry => Err("a transient failure; try again later".to_owned()),
            Outcome::DeadLettered => Err("it failed again and was dead-lettered again".to_owned()),
        }
    }
}
