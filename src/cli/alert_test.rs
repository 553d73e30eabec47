//! `wsprobe alert test CHANNEL`: send a sample DOWN alert through one channel,
//! so a new setup can be checked end to end before an incident does it.

use super::EXIT_USAGE;
use crate::alert::{DeliveryId, deliver_within, sample};
use crate::config;
use crate::daemon::build_channels;
use crate::notification::NotificationKind;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `wsprobe alert test`.
#[derive(Debug, Args)]
pub struct AlertTestArgs {
    /// The channel name from monitors.yaml.
    pub channel: String,
    /// The monitors file.
    #[arg(long, short, default_value = "monitors.yaml", value_name = "PATH")]
    pub config: PathBuf,
}

/// Deliver the sample; exit 0 when the channel accepted it, 2 when it refused.
pub async fn run(args: AlertTestArgs) -> ExitCode {
    let config = match config::load(&args.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let channels = match build_channels(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wsprobe: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let Some(channel) = channels.get(&args.channel) else {
        let mut known: Vec<&str> = channels.keys().map(String::as_str).collect();
        known.sort_unstable();
        eprintln!(
            "wsprobe: no channel {:?} in {} (known: {})",
            args.channel,
            args.config.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
        return ExitCode::from(EXIT_USAGE);
    };
    let mut note = sample::notification(NotificationKind::Down);
    note.monitor = format!("{} (wsprobe alert test)", note.monitor);
    match deliver_within(channel.as_ref(), &note, &DeliveryId::one_off()).await {
        Ok(()) => {
            println!("sample alert delivered through {:?}", args.channel);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wsprobe: delivery through {:?} failed: {e}", args.channel);
            ExitCode::from(2)
        }
    }
}
