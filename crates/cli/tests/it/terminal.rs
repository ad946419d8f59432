//! The `tickler` binary as a client: run with piped input and output, or in a
//! pseudo-terminal (as a person at a terminal runs it), with its own config directory.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a client command may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// What a finished command left.
#[derive(Debug)]
pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A client environment: a config home of its own and a local time zone.
pub struct ClientEnv {
    pub config_home: tempfile::TempDir,
    pub zone: String,
    pub extra: Vec<(String, String)>,
}

impl ClientEnv {
    pub fn new() -> Self {
        Self {
            config_home: tempfile::tempdir().unwrap(),
            zone: "UTC".to_owned(),
            extra: Vec::new(),
        }
    }

    /// `$XDG_CONFIG_HOME/tickler/client.toml`.
    pub fn client_file(&self) -> std::path::PathBuf {
        self.config_home.path().join("tickler").join("client.toml")
    }

    fn configure(&self, command: &mut std::process::Command) {
        command
            .env("XDG_CONFIG_HOME", self.config_home.path())
            .env("HOME", self.config_home.path())
            .env("TZ", &self.zone)
            .env_remove("TICKLER_SERVER")
            .env_remove("TICKLER_TOKEN")
            .env_remove("TICKLER_CONFIG")
            .env_remove("NO_COLOR")
            .env_remove("RUST_BACKTRACE")
            .envs(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tickler"));
        command.args(args);
        self.configure(&mut command);
        command
    }

    /// Runs `tickler ARGS` with `input` on stdin and pipes for output.
    pub async fn run_with_input(&self, args: &[&str], input: &str) -> Finished {
        let mut command = tokio::process::Command::from(self.command(args));
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the tickler binary starts");
        let mut stdin = child.stdin.take().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes())
            .await
            .unwrap();
        drop(stdin);
        let output = tokio::time::timeout(PATIENCE, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("tickler {args:?} did not finish"))
            .unwrap();
        Finished {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `tickler ARGS` with one more environment variable.
    pub async fn run_with_env(&mut self, (name, value): (&str, &str), args: &[&str]) -> Finished {
        self.extra.push((name.to_owned(), value.to_owned()));
        let finished = self.run(args).await;
        self.extra.pop();
        finished
    }

    /// Runs `tickler ARGS` with nothing on stdin.
    pub async fn run(&self, args: &[&str]) -> Finished {
        self.run_with_input(args, "").await
    }

    /// Starts `tickler ARGS` in a pseudo-terminal: stdin, stdout and stderr are its slave.
    pub fn spawn_in_terminal(&self, args: &[&str]) -> Terminal {
        Terminal::spawn(self.command(args))
    }
}

/// A process running in a pseudo-terminal, and everything it wrote there.
pub struct Terminal {
    child: std::process::Child,
    master: std::fs::File,
    screen: Arc<Mutex<Vec<u8>>>,
    ended: Arc<std::sync::atomic::AtomicBool>,
}

impl Terminal {
    fn spawn(mut command: std::process::Command) -> Self {
        use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .expect("a pseudo-terminal");
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(Path::new(name.to_str().unwrap()))
            .unwrap();
        command
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        let child = command.spawn().expect("the tickler binary starts");
        // The command holds the slave's descriptors: drop it so that the master reads end
        // when the child exits.
        drop(command);
        let master = std::fs::File::from(master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = screen.clone();
        let ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader_ended = ended.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // EIO once every slave descriptor is closed: the end of the session.
            while let Ok(read) = reader.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buffer[..read]);
            }
            reader_ended.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        Self {
            child,
            master,
            screen,
            ended,
        }
    }

    /// Everything shown so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits until the screen shows `text` after the first `from` bytes; returns the
    /// position just after it.
    pub async fn expect(&self, text: &str, from: usize) -> usize {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if let Some(at) = screen.get(from..).and_then(|rest| rest.find(text)) {
                return from + at + text.len();
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {text:?}; it shows:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Types a line.
    pub fn type_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\r").as_bytes())
            .unwrap();
        self.master.flush().unwrap();
    }

    /// Waits for the process to end and returns its exit code and the whole screen.
    pub async fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // The reader ends once the process and every descriptor of the terminal it
            // held are gone, so the screen then has everything the process wrote.
            if self.ended.load(std::sync::atomic::Ordering::SeqCst)
                && let Some(status) = self.child.try_wait().unwrap()
            {
                return (status.code().unwrap_or(-1), self.screen());
            }
            assert!(
                Instant::now() < deadline,
                "the process did not end; the terminal shows:\n{}",
                self.screen()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
