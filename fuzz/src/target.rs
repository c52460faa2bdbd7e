//! The code under test, set up as the service sets it up: the upload check as
//! `api/src/service/upload.rs` runs it, and the job as a worker runs it, with the
//! default limits and a resolver that fetches nothing.

use std::{sync::Arc, time::Duration};

use maplink::{Error, config::Settings, domain::FileFormat, sheet};
use maplink_worker::{
    heartbeat::RunSignals,
    jobs::pipeline::{self, Options},
    resolve::Resolver,
};

/// The code under test, set up as the service sets it up.
pub struct Target {
    limits: sheet::Limits,
    options: Options,
    runtime: tokio::runtime::Runtime,
}

impl Target {
    pub fn new() -> Result<Self, String> {
        // Nothing is fetched: a link that needs the network is refused by the policy
        // before any request (and before any DNS lookup).
        let settings = Settings {
            resolve_allowed_hosts: Vec::new(),
            places_api_key: None,
            resolve_attempts: 1,
            ..Settings::default()
        };
        let options = Options {
            resolver: Arc::new(Resolver::new(&settings, None)?),
            concurrency: settings.resolve_concurrency,
            row_delay: Duration::ZERO,
            limits: settings.sheet_limits(),
            // The widest output: the details columns too.
            details: true,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        Ok(Self {
            limits: settings.sheet_limits(),
            options,
            runtime,
        })
    }

    /// The upload check; the data rows it counted.
    pub fn upload(&self, bytes: &[u8], format: FileFormat) -> maplink::Result<u64> {
        let scan = sheet::scan(bytes, format, &self.limits, sheet::PREVIEW_ROWS)?;
        sheet::find_columns(scan.head.header())?;
        let preview = sheet::preview(&scan.head, scan.width);
        // The API answers with the preview as JSON.
        serde_json::to_vec(&preview)
            .map_err(|e| Error::Corrupt(format!("the preview is not JSON: {e}")))?;
        Ok(scan.data_rows)
    }

    /// The job: the data rows it converted, and whether its output reads back.
    pub fn job(&self, bytes: &[u8], format: FileFormat) -> maplink::Result<Done> {
        let signals = Arc::new(RunSignals::default());
        let converted = self.runtime.block_on(pipeline::convert(
            bytes.to_vec(),
            format,
            &self.options,
            &signals,
        ))?;
        let converted = converted.ok_or_else(|| Error::Corrupt("the job was cancelled".into()))?;
        // The output is what the user downloads, and may upload again.
        let read_back = sheet::read(&converted.output, format, &sheet::Limits::FORMAT)
            .map(|_| ())
            .map_err(|e| e.to_string());
        Ok(Done {
            rows: converted.filled.counts.total(),
            read_back,
        })
    }
}

/// What the job did with a file it converted.
#[derive(Debug)]
pub struct Done {
    pub rows: u64,
    pub read_back: Result<(), String>,
}
