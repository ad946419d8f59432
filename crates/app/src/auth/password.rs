//! Password hashing with Argon2id (RustCrypto defaults: m = 19 MiB, t = 2, p = 1), off the async
//! runtime because one hash costs tens of milliseconds of CPU, and bounded in concurrency
//! because it costs 19 MiB too.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{AppError, AppResult};

/// Bounds the password hashes computed at once. Each Argon2 computation holds 19 MiB and a
/// core for tens of milliseconds; without a bound, a burst of registrations or logins runs
/// one per blocking thread (512 in tokio) and takes gigabytes and every core. A request that
/// finds every permit taken waits up to `queue_wait`, then is refused as
/// [`AppError::Overloaded`] (503 with `Retry-After`).
///
/// The hashes run on threads of their own, one per permit, each reusing one working memory
/// for every hash while hashes keep coming: allocating 19 MiB per hash fragments the
/// allocator's arenas, which kept 340 MiB after a burst of 300 registrations on two cores even
/// with two hashes at a time. A thread that has had no hash for [`IDLE_RELEASE`] gives its
/// working memory back (reserved so that glibc maps it on its own and unmaps it on release).
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    permits: Arc<Semaphore>,
    queue_wait: Duration,
    jobs: std::sync::mpsc::Sender<Job>,
    /// The working memory the threads hold: each adds what it reserves and takes off what it
    /// releases.
    reserved: Arc<AtomicUsize>,
}

type Job = Box<dyn FnOnce() + Send>;

impl PasswordHashing {
    /// Allows `concurrency` hashes at once (0: one per core).
    pub fn new(concurrency: usize, queue_wait: Duration) -> Self {
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        } else {
            concurrency
        };
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(parking_lot::Mutex::new(queue));
        let reserved = Arc::new(AtomicUsize::new(0));
        for index in 0..concurrency {
            let queue = queue.clone();
            let reserved = reserved.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{index}"))
                .spawn(move || {
                    // Ends when every sender is gone (the app was dropped). A thread waits for
                    // the queue's lock or for a job at most `IDLE_RELEASE` at a time, so each
                    // one notices when hashing has stopped.
                    ACCOUNT.with(|account| {
                        let _ = account.set(reserved);
                    });
                    loop {
                        let job = match queue.try_lock_for(IDLE_RELEASE) {
                            Some(queue) => queue.recv_timeout(IDLE_RELEASE),
                            None => Err(RecvTimeoutError::Timeout),
                        };
                        match job {
                            Ok(job) => job(),
                            Err(RecvTimeoutError::Timeout) => release_blocks(),
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    }
                    release_blocks();
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            queue_wait,
            jobs,
            reserved,
        }
    }

    /// Bytes of Argon2 working memory the hashing threads hold now (reserved, not all of it
    /// necessarily touched): non-zero while hashes come, zero once every thread has been idle
    /// for [`IDLE_RELEASE`].
    pub fn working_memory(&self) -> usize {
        self.reserved.load(Ordering::Relaxed)
    }

    async fn permit(&self) -> AppResult<OwnedSemaphorePermit> {
        match tokio::time::timeout(self.queue_wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => {
                metrics::counter!("tickler_password_hashing_refused_total").increment(1);
                Err(AppError::Overloaded {
                    retry_after_seconds: self.queue_wait.as_secs().max(1),
                })
            }
        }
    }

    /// Runs `work` on a hashing thread, once a permit is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> AppResult<T> {
        let permit = self.permit().await?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = reply.send(work());
            }))
            .map_err(|_| AppError::Internal("the password hashing threads are gone".into()))?;
        let result = answer
            .await
            .map_err(|_| AppError::Internal("a password hashing job failed".into()));
        drop(permit);
        result
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$...`).
    pub async fn hash(&self, password: String) -> AppResult<String> {
        self.run(move || hash_now(&password)).await?
    }

    /// Checks a password against a PHC string with the parameters and salt it names; counted
    /// in `tickler_password_verifications_total`.
    pub async fn verify(&self, password: String, phc: String) -> AppResult<bool> {
        self.run(move || {
            metrics::counter!("tickler_password_verifications_total").increment(1);
            verify_now(&password, &phc)
        })
        .await
    }
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self::new(0, Duration::from_secs(2))
    }
}

/// How long a hashing thread keeps its working memory without a hash to compute. Allocating it
/// again costs its page faults (a few milliseconds, against 30-50 ms for the hash), once per
/// burst of hashes.
pub const IDLE_RELEASE: Duration = Duration::from_secs(2);

/// The least working memory reserved, in blocks of 1 KiB: 33 MiB, above the largest size
/// (32 MiB) up to which glibc's malloc raises its mmap threshold when a mapped chunk is freed.
/// A smaller reservation would be mapped the first time, and after its release served from
/// the thread's arena, whose top is trimmed only beyond twice the freed size: 38 MiB stayed
/// resident on a two-core server once both threads had hashed. Above that size every
/// reservation is its own mapping and a release unmaps it. Only the pages a hash touches
/// (19 MiB with the default parameters) become resident.
const MIN_RESERVED_BLOCKS: usize = 33 * 1024;

thread_local! {
    /// The Argon2 working memory of this hashing thread, reused until the thread is idle.
    static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Where this hashing thread counts the bytes it reserves ([`PasswordHashing::working_memory`]).
    static ACCOUNT: std::cell::OnceCell<Arc<AtomicUsize>> = const { std::cell::OnceCell::new() };
}

/// Adds `added` bytes to, and takes `removed` from, this thread's account.
fn account(added: usize, removed: usize) {
    ACCOUNT.with(|account| {
        if let Some(account) = account.get() {
            account.fetch_add(added, Ordering::Relaxed);
            account.fetch_sub(removed, Ordering::Relaxed);
        }
    });
}

fn bytes_of(blocks: &Vec<Block>) -> usize {
    blocks.capacity() * std::mem::size_of::<Block>()
}

/// Runs `work` with `count` blocks of this thread's working memory.
fn with_blocks<T>(count: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < count {
            if blocks.capacity() < count {
                let before = bytes_of(&blocks);
                *blocks = Vec::with_capacity(count.max(MIN_RESERVED_BLOCKS));
                account(bytes_of(&blocks), before);
            }
            blocks.resize(count, Block::new());
        }
        work(&mut blocks[..count])
    })
}

/// Gives this thread's working memory back.
fn release_blocks() {
    BLOCKS.with(|blocks| {
        if let Ok(mut blocks) = blocks.try_borrow_mut()
            && blocks.capacity() > 0
        {
            let before = bytes_of(&blocks);
            *blocks = Vec::new();
            account(0, before);
        }
    });
}

fn hash_now(password: &str) -> AppResult<String> {
    let failed = |error: &dyn std::fmt::Display| {
        AppError::Internal(format!("failed to hash password: {error}"))
    };
    let params = Params::default();
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| failed(&error))?;
    let mut output = [0u8; 32];
    with_blocks(params.block_count(), |blocks| {
        Argon2::default().hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut output,
            blocks,
        )
    })
    .map_err(|error| failed(&error))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|error| failed(&error))?,
        salt: Some(Salt::new(&salt).map_err(|error| failed(&error))?),
        hash: Some(Output::new(&output).map_err(|error| failed(&error))?),
    };
    Ok(phc.to_string())
}

fn verify_now(password: &str, phc: &str) -> bool {
    match verify_phc(password, phc) {
        Ok(matches) => matches,
        Err(error) => {
            tracing::error!(%error, "stored password hash cannot be verified");
            false
        }
    }
}

/// Recomputes the hash with the parameters and salt of `phc` and compares in constant time.
fn verify_phc(password: &str, phc: &str) -> Result<bool, String> {
    let parsed = PasswordHash::new(phc).map_err(|error| error.to_string())?;
    let algorithm =
        Algorithm::try_from(parsed.algorithm.as_str()).map_err(|error| error.to_string())?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|error| error.to_string())?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|error| error.to_string())?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err("the hash has no salt or no output".into());
    };
    let mut output = vec![0u8; expected.len()];
    with_blocks(params.block_count(), |blocks| {
        Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            &mut output,
            blocks,
        )
    })
    .map_err(|error| error.to_string())?;
    let computed = Output::new(&output).map_err(|error| error.to_string())?;
    // `Output`'s equality is constant-time.
    Ok(computed == *expected)
}

/// A hash of a random password, verified against when a login names an unknown e-mail so the
/// response takes as long as for a known one (no account enumeration by timing).
pub const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$pKMvPWhFyrVM7mfz0r7ccVcmo0QvTHV/bDy9X4S7k5E";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let hashing = PasswordHashing::default();
        let phc = hashing.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(
            hashing
                .verify("correct horse".into(), phc.clone())
                .await
                .unwrap()
        );
        assert!(!hashing.verify("wrong horse".into(), phc).await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn a_hash_waits_for_a_permit_for_the_queue_wait_then_is_refused_as_overloaded() {
        let queue_wait = Duration::from_millis(50);
        let hashing = PasswordHashing::new(1, queue_wait);
        let held = hashing.permit().await.unwrap();
        let started = tokio::time::Instant::now();
        let waiting = tokio::spawn({
            let hashing = hashing.clone();
            async move { hashing.hash("x".into()).await }
        });
        // Lets the request start waiting (and arm its timer) at the paused instant.
        tokio::task::yield_now().await;
        tokio::time::advance(queue_wait - Duration::from_millis(1)).await;
        assert!(!waiting.is_finished(), "refused before the queue wait");
        tokio::time::advance(Duration::from_millis(1)).await;
        let refused = waiting.await.unwrap().unwrap_err();
        // Refused at the queue wait, not later: a longer wait would have moved the paused
        // clock on to its own timer.
        assert_eq!(started.elapsed(), queue_wait);
        assert!(matches!(
            refused,
            AppError::Overloaded {
                retry_after_seconds: 1
            }
        ));
        drop(held);
        assert!(hashing.hash("x".into()).await.is_ok());
    }

    #[tokio::test]
    async fn hashes_are_interchangeable_with_the_argon2_crate_s_own() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let hashing = PasswordHashing::default();
        let stored_before = Argon2::default()
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        assert!(
            hashing
                .verify("correct horse".into(), stored_before.clone())
                .await
                .unwrap()
        );
        assert!(
            !hashing
                .verify("wrong horse".into(), stored_before)
                .await
                .unwrap()
        );
        let ours = hashing.hash("correct horse".into()).await.unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", ours.as_str())
                .is_ok()
        );
    }

    #[tokio::test]
    async fn the_working_memory_is_kept_while_hashes_come_and_released_when_idle() {
        let hashing = PasswordHashing::new(1, Duration::from_secs(5));
        assert_eq!(
            hashing.working_memory(),
            0,
            "nothing is reserved before a hash"
        );
        let started = std::time::Instant::now();
        let phc = hashing.hash("correct horse".into()).await.unwrap();
        assert!(hashing.verify("correct horse".into(), phc).await.unwrap());
        let busy = started.elapsed();
        let held = hashing.working_memory();
        // Both the hash and the verification ran within the idle time, with one reservation;
        // on a machine too slow for that the check of the figure alone would be wrong.
        if busy < IDLE_RELEASE {
            assert_eq!(held, MIN_RESERVED_BLOCKS * std::mem::size_of::<Block>());
        }
        let released = std::time::Instant::now();
        while hashing.working_memory() != 0 {
            // Idle release comes after IDLE_RELEASE plus at most one more wait of the thread.
            assert!(
                released.elapsed() < IDLE_RELEASE * 3 + busy,
                "still holding {} bytes",
                hashing.working_memory()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The next hash reserves it again.
        hashing.hash("again".into()).await.unwrap();
        assert!(hashing.working_memory() > 0);
    }

    #[tokio::test]
    async fn a_malformed_hash_never_verifies() {
        let hashing = PasswordHashing::default();
        assert!(
            !hashing
                .verify("x".into(), "not a hash".into())
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn the_decoy_hash_is_well_formed_so_checking_it_costs_a_real_verification() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DECOY_HASH).is_ok());
        let hashing = PasswordHashing::default();
        assert!(!hashing.verify("x".into(), DECOY_HASH.into()).await.unwrap());
    }
}
