//! `tickler login` and `tickler logout`: signing in, keeping a personal API token in the
//! client file, and revoking it.

use serde_json::json;
use tickler_client::{Client, ClientError};
use tickler_protocol::auth::{CreateApiTokenRequest, LoginRequest};

use super::outcome::CliError;
use super::settings::{self, Login};
use super::{Screen, input};

pub(super) async fn login(
    screen: &Screen,
    server: Option<String>,
    token: Option<String>,
    email: Option<String>,
) -> Result<(), CliError> {
    let path = settings::path()?;
    // A damaged file is what a new login repairs: it is replaced, not an obstacle.
    let stored = settings::read(&path).unwrap_or(None);
    let server = server
        .or_else(|| settings::non_empty_env("TICKLER_SERVER"))
        .or_else(|| stored.as_ref().map(|login| login.server.clone()))
        .unwrap_or_else(|| settings::DEFAULT_SERVER.to_owned());
    let server = server.trim().trim_end_matches('/').to_owned();
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        return Err(CliError::usage(format!(
            "--server {server:?} is not an http:// or https:// URL"
        )));
    }
    let fail = |error: ClientError| CliError::from_client(error, &server);
    let login = match token {
        Some(token) => Login {
            server: server.clone(),
            token: token.trim().to_owned(),
            token_id: None,
        },
        None => {
            let email = match email {
                Some(email) => email,
                None => input::prompt("e-mail: ", false)?
                    .ok_or_else(|| CliError::usage("no e-mail address given"))?,
            };
            let password = input::prompt("password: ", true)?
                .ok_or_else(|| CliError::usage("no password given"))?;
            let request = LoginRequest {
                email: email.trim().to_owned(),
                password,
                session: None,
            };
            let session = tickler_client::login(&server, &request)
                .await
                .map_err(|error| match error.status() {
                    Some(401) => CliError::failure("wrong e-mail address or password"),
                    _ => fail(error),
                })?;
            let signed_in = Client::new(&server, &session.access_token).map_err(fail)?;
            let created = signed_in
                .create_api_token(&CreateApiTokenRequest {
                    name: format!("tickler CLI on {}", host_name()),
                    expires_in_days: None,
                    scopes: None,
                })
                .await
                .map_err(fail)?;
            // The API token is the login from now on; the sign-in session is not needed.
            if let Some(refresh_token) = &session.refresh_token {
                let _ = signed_in.end_session(refresh_token).await;
            }
            Login {
                server: server.clone(),
                token: created.token,
                token_id: Some(created.details.id.to_string()),
            }
        }
    };
    let client = Client::new(&login.server, &login.token).map_err(fail)?;
    let user = client.me().await.map_err(fail)?;
    // Replacing an earlier login of this machine: its token is no longer needed.
    if let Some(old) = stored
        && let Some(old_id) = &old.token_id
        && old.server == login.server
        && old.token != login.token
        && let Ok(old_client) = Client::new(&old.server, &old.token)
    {
        let _ = old_client.delete_api_token(old_id).await;
    }
    settings::write(&path, &login)?;
    let answer = json!({"server": login.server, "user": user, "config": path});
    screen.show(&answer, |_| {
        format!(
            "logged in to {} as {} (token kept in {})\n",
            login.server,
            user.email,
            path.display()
        )
    })
}

pub(super) async fn logout(screen: &Screen) -> Result<(), CliError> {
    let path = settings::path()?;
    let Some(login) = settings::read(&path)? else {
        let answer = json!({"logged_out": false});
        return screen.show(&answer, |_| "not logged in\n".to_owned());
    };
    let mut warning = None;
    if let Some(token_id) = &login.token_id {
        let revoked = match Client::new(&login.server, &login.token) {
            Ok(client) => client.delete_api_token(token_id).await,
            Err(error) => Err(error),
        };
        match revoked {
            // Already revoked (on the web, or by another logout): nothing left to do.
            Ok(()) => {}
            Err(error) if matches!(error.status(), Some(401 | 404)) => {}
            Err(error) => warning = Some(CliError::from_client(error, &login.server).message),
        }
    }
    settings::remove(&path)?;
    if let Some(warning) = &warning {
        eprintln!("tickler: the token could not be revoked ({warning}); revoke it on the server");
    }
    let answer = json!({"logged_out": true, "server": login.server});
    screen.show(&answer, |_| format!("logged out of {}\n", login.server))
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "this machine".to_owned())
}
