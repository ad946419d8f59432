//! One-time tickets of the live stream.

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;

/// A ticket yields its owner once, only before it expires; an unknown ticket yields nothing;
/// storing a new ticket prunes the expired ones.
pub async fn a_live_ticket_is_redeemed_once_before_it_expires(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    store
        .insert_live_ticket(&[1; 32], user.id, instant(30), instant(0))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_live_ticket(&[1; 32], instant(10))
            .await
            .unwrap(),
        Some(user.id)
    );
    assert_eq!(
        store
            .redeem_live_ticket(&[1; 32], instant(11))
            .await
            .unwrap(),
        None,
        "a ticket is spent on first use"
    );
    assert_eq!(
        store
            .redeem_live_ticket(&[9; 32], instant(11))
            .await
            .unwrap(),
        None
    );

    store
        .insert_live_ticket(&[2; 32], user.id, instant(30), instant(0))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_live_ticket(&[2; 32], instant(30))
            .await
            .unwrap(),
        None,
        "an expired ticket is refused"
    );

    store
        .insert_live_ticket(&[3; 32], user.id, instant(30), instant(0))
        .await
        .unwrap();
    store
        .insert_live_ticket(&[4; 32], user.id, instant(100), instant(31))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_live_ticket(&[3; 32], instant(0))
            .await
            .unwrap(),
        None,
        "expired tickets are pruned when a new one is stored"
    );
    assert_eq!(
        store
            .redeem_live_ticket(&[4; 32], instant(40))
            .await
            .unwrap(),
        Some(user.id)
    );
}

/// Of many concurrent redemptions of one ticket, exactly one gets its owner.
pub async fn racing_redemptions_of_a_live_ticket_let_one_win(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    store
        .insert_live_ticket(&[7; 32], user.id, instant(30), instant(0))
        .await
        .unwrap();
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.redeem_live_ticket(&[7; 32], instant(1)).await })
    });
    let mut winners = 0;
    for attempt in attempts {
        if attempt.await.unwrap().unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}
