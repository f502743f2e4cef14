//! The command line (SPEC §2) in two steps: the raw flags as clap parses them ([`Cli`]), then
//! the validated [`Settings`] that the rest of the program trusts.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::catalog::StoreOptions;
use crate::error::{Error, Result};
use crate::generate::GenerateArgs;
use crate::import::ImportArgs;
use crate::output::{Expanded, Format, OutputOptions, TableOptions};
use crate::queries::QueryLibrary;
use crate::session::SessionSettings;

/// salesql: SQL over CRM sales data, with functions for funnels, conversion, cycle time,
/// fiscal periods and open pipeline.
#[derive(Debug, Parser)]
#[command(name = "salesql", version, about, long_about = None)]
pub struct Cli {
    /// Options accepted before or after the subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do; without one, a REPL on a terminal, else the SQL read from stdin.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options accepted anywhere on the command line.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Data root: a directory, or a URL such as s3://bucket/prefix (default: the built-in sample).
    #[arg(long, global = true, env = "SALESQL_DATA", value_name = "URL")]
    pub data: Option<String>,
    /// Result format (default: table on a terminal, else csv; with -o, the file's extension).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Write results to FILE, atomically (nothing is written if a statement fails).
    #[arg(short = 'o', long, global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A query parameter, bound as a typed value to `$NAME` (repeatable).
    #[arg(long = "param", global = true, value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Memory limit for query execution, such as 4G or 512M; operators spill to disk beyond it.
    #[arg(long, global = true, env = "SALESQL_MEMORY_LIMIT", value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// A folder of saved queries, searched before ./queries and the built-in ones.
    #[arg(
        long = "queries",
        global = true,
        env = "SALESQL_QUERIES",
        value_name = "DIR"
    )]
    pub queries_dir: Option<PathBuf>,
    /// The most rows the table view shows (0: all).
    #[arg(long, global = true, value_name = "N")]
    pub max_rows: Option<usize>,
    /// The REPL's history file (default: $XDG_STATE_HOME/salesql/history).
    #[arg(long, global = true, value_name = "FILE")]
    pub history_file: Option<PathBuf>,
    /// S3 region (default: AWS_REGION or AWS_DEFAULT_REGION, then the profile's).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Endpoint of an S3-compatible store (default: AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,
    /// AWS profile in ~/.aws/credentials and ~/.aws/config (default: AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send anonymous (unsigned) requests to the object store.
    #[arg(long, global = true)]
    pub no_sign: bool,
    /// Plan locally, execute on the Ballista cluster whose scheduler is at df://HOST:PORT.
    #[arg(
        long,
        global = true,
        env = "SALESQL_CLUSTER",
        value_name = "df://HOST:PORT"
    )]
    pub cluster: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run SQL text, or a .sql file with -f (several statements allowed; `-` reads stdin).
    Query {
        /// The SQL to run.
        #[arg(value_name = "SQL", required_unless_present = "file")]
        sql: Option<String>,
        /// A file of SQL statements to run.
        #[arg(
            short = 'f',
            long = "file",
            value_name = "FILE",
            conflicts_with = "sql"
        )]
        file: Option<PathBuf>,
    },
    /// Run a saved query, by name or path.
    Run {
        /// A saved query's name (see `salesql queries`) or the path of a .sql file.
        #[arg(value_name = "NAME|PATH")]
        name: String,
    },
    /// List the saved queries with their parameters.
    Queries,
    /// Validate the data root: tables, schemas, problems (exit 1 when there is one).
    Check {
        /// Also decode every column of every file, naming the damaged ones (reads all the data).
        #[arg(long)]
        deep: bool,
    },
    /// List the sales SQL functions with their documentation.
    Functions,
    /// Write a synthetic CRM dataset.
    Generate(GenerateArgs),
    /// Turn a CRM export (Salesforce, HubSpot, any CSV with a mapping) into a data root, or
    /// bring one up to date with a newer export.
    Import(ImportArgs),
    /// Run a Ballista scheduler serving the sales functions (its flags are Ballista's).
    #[cfg(feature = "distributed")]
    Scheduler(crate::distributed::scheduler::SchedulerArgs),
    /// Run a Ballista executor with the sales functions (its flags are Ballista's).
    #[cfg(feature = "distributed")]
    Executor(crate::distributed::executor::ExecutorArgs),
    /// Run a scheduler and N executors in this process, for trying --cluster out.
    #[cfg(feature = "distributed")]
    Cluster(crate::distributed::cluster::ClusterArgs),
}

/// The validated settings every command runs with.
#[derive(Debug)]
pub struct Settings {
    /// How to open the session.
    pub session: SessionSettings,
    /// Where results go (`None`: stdout).
    pub output_path: Option<PathBuf>,
    /// How results are rendered.
    pub output: OutputOptions,
    /// True when the format was chosen on the command line.
    pub format_given: bool,
    /// `--param NAME=VALUE` pairs, in order.
    pub params: Vec<(String, String)>,
    /// Where saved queries are looked up.
    pub queries: QueryLibrary,
    /// The REPL's history file.
    pub history_file: Option<PathBuf>,
}

impl Settings {
    /// Validates the global options.
    pub fn from_args(args: &GlobalArgs) -> Result<Self> {
        let stdout_is_terminal = std::io::stdout().is_terminal() && args.output.is_none();
        let format = args
            .format
            .unwrap_or_else(|| Format::default_for(args.output.as_deref(), stdout_is_terminal));
        let memory_limit = args
            .memory_limit
            .as_deref()
            .map(|text| {
                parse_size(text).ok_or_else(|| {
                    Error::Usage(format!(
                        "--memory-limit {text:?}: expected a size such as 4G, 512M or 1073741824"
                    ))
                })
            })
            .transpose()?;
        let params = args
            .params
            .iter()
            .map(|pair| parse_param(pair))
            .collect::<Result<Vec<_>>>()?;
        refuse_repeated_params(&params)?;
        let width = if stdout_is_terminal {
            terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))
        } else {
            std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
        };
        Ok(Self {
            session: SessionSettings {
                data: args.data.clone(),
                store: StoreOptions {
                    region: args.region.clone(),
                    endpoint: args.endpoint.clone(),
                    profile: args.profile.clone(),
                    no_sign: args.no_sign,
                },
                memory_limit,
                target_partitions: None,
                cluster: args.cluster.clone(),
            },
            output_path: args.output.clone(),
            output: OutputOptions {
                format,
                table: TableOptions {
                    max_rows: args.max_rows.unwrap_or(40),
                    width,
                    expanded: Expanded::Off,
                },
            },
            format_given: args.format.is_some(),
            params,
            queries: QueryLibrary::new(args.queries_dir.as_deref()),
            history_file: args.history_file.clone(),
        })
    }
}

/// Splits `NAME=VALUE`.
fn parse_param(pair: &str) -> Result<(String, String)> {
    let (name, value) = pair
        .split_once('=')
        .ok_or_else(|| Error::Usage(format!("--param {pair:?}: expected NAME=VALUE")))?;
    let name = name.trim().trim_start_matches('$');
    if name.is_empty() {
        return Err(Error::Usage(format!("--param {pair:?}: the name is empty")));
    }
    Ok((name.to_string(), value.to_string()))
}

/// A parameter given twice is a mistake (which value was meant?), not "the last one wins".
fn refuse_repeated_params(params: &[(String, String)]) -> Result<()> {
    for (index, (name, value)) in params.iter().enumerate() {
        if let Some((_, earlier)) = params[..index].iter().find(|(other, _)| other == name) {
            return Err(Error::Usage(format!(
                "--param {name} is given twice ({name}={earlier} and {name}={value}); \
                 give each parameter once"
            )));
        }
    }
    Ok(())
}

/// Parses a size: bytes, or a number with K, M, G or T (powers of 1024; `B`/`iB` optional).
pub fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit.trim_end_matches("IB").trim_end_matches('B');
    let multiplier: f64 = match unit {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * multiplier;
    (bytes.is_finite() && bytes >= 1.0 && bytes < usize::MAX as f64).then_some(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_the_usual_spellings() {
        assert_eq!(parse_size("4G"), Some(4 << 30));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("1.5gb"), Some(3 << 29));
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("4X"), None);
        assert_eq!(parse_size("0"), None);
    }

    #[test]
    fn params_split_at_the_first_equals_sign() {
        assert_eq!(parse_param("q=a=b").unwrap(), ("q".into(), "a=b".into()));
        assert_eq!(
            parse_param("$since=2024-01-01").unwrap(),
            ("since".into(), "2024-01-01".into())
        );
        assert_eq!(parse_param("novalue").unwrap_err().exit_code(), 2);
        let pairs = ["a=1", "b=2", "a=3"].map(|pair| parse_param(pair).unwrap());
        let repeated = refuse_repeated_params(&pairs).unwrap_err();
        assert_eq!(repeated.exit_code(), 2);
        assert!(repeated.to_string().contains("(a=1 and a=3)"), "{repeated}");
        assert!(refuse_repeated_params(&pairs[..2]).is_ok());
    }

    #[test]
    fn global_options_are_accepted_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "salesql", "run", "funnel", "--format", "csv", "--data", "/tmp/x", "--param", "a=1",
        ])
        .unwrap();
        assert_eq!(cli.global.format, Some(Format::Csv));
        assert_eq!(cli.global.data.as_deref(), Some("/tmp/x"));
        assert_eq!(cli.global.params, ["a=1"]);
        assert!(matches!(cli.command, Some(Command::Run { name }) if name == "funnel"));
    }
}
