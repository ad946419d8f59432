//! `roles`: the services a process runs.

use serde::{Deserialize, Serialize};

/// A service a process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The HTTP API.
    Api,
    /// The outbox relay.
    Relay,
    /// The audit consumer.
    Audit,
    /// Notifications: the notifier consumer and the delivery worker.
    Notifier,
    /// Recurring tasks: the consumer that creates the next instance of a completed one.
    Recurring,
    /// The reminder scheduler: fires scheduled reminders at their time.
    Reminders,
    /// The live stream: `GET /api/v1/live` (WebSocket) and its tickets.
    Realtime,
}

impl Role {
    /// Every role this build has, which `all` stands for.
    pub const ALL: [Role; 7] = [
        Role::Api,
        Role::Relay,
        Role::Audit,
        Role::Notifier,
        Role::Recurring,
        Role::Reminders,
        Role::Realtime,
    ];

    /// Returns whether the role consumes events from the bus.
    pub fn consumes_events(&self) -> bool {
        matches!(self, Role::Audit | Role::Notifier | Role::Recurring)
    }

    /// Returns the role's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Relay => "relay",
            Role::Audit => "audit",
            Role::Notifier => "notifier",
            Role::Recurring => "recurring",
            Role::Reminders => "reminders",
            Role::Realtime => "realtime",
        }
    }
}

/// The roles of a process: written as a list or as a comma-separated string, `all` for every
/// role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "Vec<String>")]
pub struct Roles(pub(super) Vec<Role>);

impl Roles {
    /// Returns whether `role` is among them.
    pub fn has(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// Returns whether any of them consumes events from the bus.
    pub fn has_consumers(&self) -> bool {
        self.0.iter().any(Role::consumes_events)
    }

    /// Returns the roles, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    /// Parses role names.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut roles = Vec::new();
        for name in names
            .iter()
            .flat_map(|name| name.as_ref().split(','))
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            let parsed: Vec<Role> = match name {
                "all" => Role::ALL.to_vec(),
                "api" => vec![Role::Api],
                "relay" => vec![Role::Relay],
                "audit" => vec![Role::Audit],
                "notifier" => vec![Role::Notifier],
                "recurring" => vec![Role::Recurring],
                "reminders" => vec![Role::Reminders],
                "realtime" => vec![Role::Realtime],
                other => {
                    return Err(format!(
                        "unknown role {other:?}; use all, api, relay, audit, notifier, recurring, reminders or realtime"
                    ));
                }
            };
            for role in parsed {
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
        }
        if roles.is_empty() {
            return Err("no role given".to_owned());
        }
        Ok(Self(roles))
    }
}

impl From<Roles> for Vec<String> {
    fn from(roles: Roles) -> Self {
        roles
            .0
            .iter()
            .map(|role| role.as_str().to_owned())
            .collect()
    }
}

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let names = match Raw::deserialize(deserializer)? {
            Raw::One(text) => vec![text],
            Raw::Many(list) => list,
        };
        Roles::parse(&names).map_err(serde::de::Error::custom)
    }
}
