//! Conversations with the chat assistant and their messages.

use tickler_domain::{ConversationId, UserId};
use uuid::Uuid;

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{Conversation, ConversationMessage, MessageRole, StoreError};

fn new_conversation(owner: UserId, title: &str, seconds: i64) -> Conversation {
    Conversation {
        id: ConversationId::from_uuid(Uuid::now_v7()),
        owner,
        title: title.into(),
        state: None,
        created_at: instant(seconds),
        updated_at: instant(seconds),
    }
}

fn message(role: MessageRole, content: &str, seconds: i64) -> ConversationMessage {
    ConversationMessage {
        id: Uuid::now_v7(),
        role,
        content: content.into(),
        details: "{}".into(),
        created_at: instant(seconds),
    }
}

/// A conversation reads back with its messages in order and its pending state.
pub async fn a_conversation_keeps_its_messages_in_order_and_its_state(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let conversation = new_conversation(user.id, "mark the dentist task done", 0);
    store.insert_conversation(&conversation).await.unwrap();
    assert_eq!(
        store
            .get_conversation(user.id, conversation.id)
            .await
            .unwrap(),
        conversation
    );
    assert!(
        store
            .recent_messages(user.id, conversation.id, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let first = [
        message(MessageRole::User, "mark the dentist task done", 1),
        message(MessageRole::Assistant, "Which one?", 1),
    ];
    store
        .append_messages(
            user.id,
            conversation.id,
            &first,
            Some("{\"pending\":1}"),
            instant(1),
        )
        .await
        .unwrap();
    let second = [
        message(MessageRole::User, "the second one", 2),
        message(MessageRole::Assistant, "Done.", 2),
    ];
    store
        .append_messages(user.id, conversation.id, &second, None, instant(2))
        .await
        .unwrap();

    let all = store
        .recent_messages(user.id, conversation.id, 10)
        .await
        .unwrap();
    let expected: Vec<ConversationMessage> = first.iter().chain(&second).cloned().collect();
    assert_eq!(all, expected);
    let last_two = store
        .recent_messages(user.id, conversation.id, 2)
        .await
        .unwrap();
    assert_eq!(last_two, second);

    let stored = store
        .get_conversation(user.id, conversation.id)
        .await
        .unwrap();
    assert_eq!(stored.state, None);
    assert_eq!(stored.updated_at, instant(2));
    store
        .append_messages(
            user.id,
            conversation.id,
            &[],
            Some("{\"pending\":2}"),
            instant(3),
        )
        .await
        .unwrap();
    let stored = store
        .get_conversation(user.id, conversation.id)
        .await
        .unwrap();
    assert_eq!(stored.state.as_deref(), Some("{\"pending\":2}"));
}

/// Conversations are listed most recently active first, up to the limit, per owner.
pub async fn conversations_are_listed_most_recently_active_first(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let older = new_conversation(ada.id, "older", 0);
    let newer = new_conversation(ada.id, "newer", 10);
    let graces = new_conversation(grace.id, "grace", 20);
    for conversation in [&older, &newer, &graces] {
        store.insert_conversation(conversation).await.unwrap();
    }
    let titles =
        |list: Vec<Conversation>| -> Vec<String> { list.into_iter().map(|c| c.title).collect() };
    assert_eq!(
        titles(store.list_conversations(ada.id, 10).await.unwrap()),
        ["newer", "older"]
    );
    store
        .append_messages(
            ada.id,
            older.id,
            &[message(MessageRole::User, "hi", 30)],
            None,
            instant(30),
        )
        .await
        .unwrap();
    assert_eq!(
        titles(store.list_conversations(ada.id, 10).await.unwrap()),
        ["older", "newer"]
    );
    assert_eq!(
        titles(store.list_conversations(ada.id, 1).await.unwrap()),
        ["older"]
    );
    assert_eq!(
        titles(store.list_conversations(grace.id, 10).await.unwrap()),
        ["grace"]
    );
}

/// Another user's conversation is not found by any read or write, and is left unchanged.
pub async fn another_users_conversation_is_not_found(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let conversation = new_conversation(ada.id, "ada's", 0);
    store.insert_conversation(&conversation).await.unwrap();
    store
        .append_messages(
            ada.id,
            conversation.id,
            &[message(MessageRole::User, "hi", 1)],
            None,
            instant(1),
        )
        .await
        .unwrap();

    assert!(matches!(
        store.get_conversation(grace.id, conversation.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.recent_messages(grace.id, conversation.id, 10).await,
        Err(StoreError::NotFound)
    ));
    let intrusion = [message(MessageRole::User, "intrusion", 2)];
    assert!(matches!(
        store
            .append_messages(grace.id, conversation.id, &intrusion, Some("x"), instant(2))
            .await,
        Err(StoreError::NotFound)
    ));
    let unknown = ConversationId::from_uuid(Uuid::now_v7());
    assert!(matches!(
        store.get_conversation(ada.id, unknown).await,
        Err(StoreError::NotFound)
    ));
    let messages = store
        .recent_messages(ada.id, conversation.id, 10)
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    let stored = store
        .get_conversation(ada.id, conversation.id)
        .await
        .unwrap();
    assert_eq!(stored.state, None);
}
