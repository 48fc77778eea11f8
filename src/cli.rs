//! The command line: what each subcommand does, in terms of the library.

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Parser, Subcommand};

use crate::config::{self, Config, ConfigError};
use crate::endpoint_url::{EndpointUrl, InvalidUrl};
use crate::schema::{EventType, SchemaVersion, UnknownEventType, UnknownSchemaVersion};
use crate::store::{self, endpoints, partners, StoreError};

/// trackwire: order-tracking webhooks from Kafka CDC to partner endpoints.
#[derive(Debug, Parser)]
#[command(name = "trackwire", version, about)]
pub struct Cli {
    /// Configuration file layered over the built-in defaults (see config.toml).
    #[arg(long, global = true, env = "TRACKWIRE_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: consume CDC, deliver webhooks, serve HTTP.
    Run {
        /// Apply pending database migrations first.
        #[arg(long)]
        migrate: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Host a Kafka-protocol mock cluster for local runs and write its
    /// address to `kafka.brokers_file`.
    DevBroker(crate::dev::DevBrokerArgs),
    /// Everything at once on this machine: broker, demo partner endpoint,
    /// a feed of order changes, and the service.
    Demo(crate::dev::DemoArgs),
    /// Measure throughput, latency and isolation against a bare-HTTP baseline
    /// (see BENCHMARKS.md).
    Bench(crate::bench::BenchArgs),
    /// Manage partners.
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Manage endpoints.
    #[command(subcommand)]
    Endpoint(EndpointCommand),
}

/// `partner` subcommands.
#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Create a partner.
    Create {
        /// The partner id as it appears in the OMS (letters, digits, `_ . -`).
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List partners.
    List,
}

/// `endpoint` subcommands.
#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// Register an endpoint; prints its id and signing secret (shown once).
    Create {
        /// Owning partner id.
        #[arg(long)]
        partner: String,
        /// HTTPS URL (plain http only for hosts in `delivery.allow_insecure_hosts`).
        #[arg(long)]
        url: String,
        /// Comma-separated event types, or `all`.
        #[arg(long, default_value = "all")]
        events: String,
        /// Payload version to pin; by default the newest served.
        #[arg(long, default_value = SchemaVersion::LATEST.as_str())]
        schema_version: String,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List a partner's endpoints.
    List {
        /// Partner id.
        #[arg(long)]
        partner: String,
    },
}

/// A command failed. Each variant says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The service could not run.
    #[error(transparent)]
    Run(#[from] crate::app::RunError),
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `--events` names an unknown type.
    #[error("--events: {0}")]
    EventType(#[from] UnknownEventType),
    /// `--events` is empty.
    #[error("--events: name at least one event type, or `all`")]
    NoEventTypes,
    /// `--schema-version` is unknown.
    #[error("--schema-version: {0}")]
    SchemaVersion(#[from] UnknownSchemaVersion),
    /// `--url` is not acceptable.
    #[error("--url: {0}")]
    Url(#[from] InvalidUrl),
    /// `--id` is not a valid partner id.
    #[error("--id: {0:?} is not a valid partner id: use 1 to 64 letters, digits, `_`, `.` or `-`, starting with a letter or digit")]
    PartnerId(String),
    /// `--name` is blank.
    #[error("--name: give the partner a name (it is shown in the portal and the logs)")]
    BlankPartnerName,
    /// `--partner` names no partner.
    #[error("--partner: there is no partner {0:?} (`trackwire partner list` shows them)")]
    NoSuchPartner(String),
    /// A development command (the dev broker, the demo) failed.
    #[error(transparent)]
    Dev(#[from] crate::dev::DevError),
    /// The benchmark could not run.
    #[error(transparent)]
    Bench(#[from] crate::bench::BenchError),
}

/// Parses `--events`.
pub fn parse_event_types(list: &str) -> Result<Vec<EventType>, CliError> {
    if list.trim() == "all" {
        return Ok(EventType::ALL.to_vec());
    }
    let types = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(EventType::from_str)
        .collect::<Result<Vec<_>, _>>()?;
    if types.is_empty() {
        return Err(CliError::NoEventTypes);
    }
    Ok(types)
}

fn valid_partner_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Runs a parsed command line.
pub async fn execute(cli: Cli) -> Result<(), CliError> {
    let mut config = config::load(cli.config.as_deref())?;
    if matches!(cli.command, Command::Demo(_)) {
        crate::dev::demo::quiet_dependencies(&mut config.log);
    }
    crate::telemetry::init(&config.log);
    match cli.command {
        Command::Run { migrate } => {
            Ok(crate::app::run(config, migrate, crate::telemetry::shutdown_signal()).await?)
        }
        Command::Migrate => {
            let applied = crate::app::migrate(&config).await?;
            if applied.is_empty() {
                println!("database schema is up to date");
            } else {
                println!("applied migrations {applied:?}");
            }
            Ok(())
        }
        Command::DevBroker(args) => Ok(crate::dev::run_broker(&config, &args).await?),
        Command::Demo(args) => Ok(crate::dev::demo::run(config, &args).await?),
        Command::Bench(args) => Ok(crate::bench::run(&config, args).await?),
        Command::Partner(cmd) => partner(&config, cmd).await,
        Command::Endpoint(cmd) => endpoint(&config, cmd).await,
    }
}

async fn client(config: &Config) -> Result<store::Client, CliError> {
    let pool = store::connect(&config.database.url, 1, config.database.connect_timeout)
        .map_err(crate::app::RunError::from)?;
    Ok(pool.get().await.map_err(StoreError::from)?)
}

async fn partner(config: &Config, cmd: PartnerCommand) -> Result<(), CliError> {
    match cmd {
        PartnerCommand::Create { id, name } => {
            if !valid_partner_id(&id) {
                return Err(CliError::PartnerId(id));
            }
            if name.trim().is_empty() {
                return Err(CliError::BlankPartnerName);
            }
            let client = client(config).await?;
            let p = partners::insert(&**client, &id, name.trim()).await?;
            println!("created partner {} ({})", p.id, p.name);
        }
        PartnerCommand::List => {
            let client = client(config).await?;
            for p in partners::list(&**client).await? {
                println!("{}\t{}\t{}", p.id, p.status, p.name);
            }
        }
    }
    Ok(())
}

async fn endpoint(config: &Config, cmd: EndpointCommand) -> Result<(), CliError> {
    match cmd {
        EndpointCommand::Create {
            partner,
            url,
            events,
            schema_version,
            description,
        } => {
            let event_types = parse_event_types(&events)?;
            let schema_version = SchemaVersion::from_str(&schema_version)?;
            let url = EndpointUrl::parse(&url, &config.delivery.allow_insecure_hosts)?;
            let mut client = client(config).await?;
            require_partner(&**client, &partner).await?;
            let tx = client.transaction().await.map_err(StoreError::from)?;
            let (ep, secret) = endpoints::insert(
                &*tx,
                &endpoints::NewEndpoint {
                    partner_id: &partner,
                    url: url.as_str(),
                    description: &description,
                    event_types: &event_types,
                    schema_version,
                },
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            println!("created endpoint {} for partner {}", ep.id, ep.partner_id);
            println!("url:     {}", ep.url);
            println!("events:  {}", join(&ep.event_types));
            println!("secret:  {}  (shown once: store it now)", secret.as_str());
        }
        EndpointCommand::List { partner } => {
            let client = client(config).await?;
            require_partner(&**client, &partner).await?;
            for ep in endpoints::list_for_partner(&**client, &partner).await? {
                let state = if ep.enabled { "enabled" } else { "disabled" };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    ep.id,
                    state,
                    ep.schema_version,
                    ep.url,
                    join(&ep.event_types)
                );
            }
        }
    }
    Ok(())
}

/// Fails when `--partner` names no partner, rather than answering with an
/// empty list or a foreign-key error.
async fn require_partner(
    client: &impl tokio_postgres::GenericClient,
    id: &str,
) -> Result<(), CliError> {
    match partners::get(client, id).await? {
        Some(_) => Ok(()),
        None => Err(CliError::NoSuchPartner(id.to_owned())),
    }
}

fn join(types: &[EventType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
