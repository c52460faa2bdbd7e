//! Schemathesis (the property-based API tester from PyPI) run against a live API, over
//! the OpenAPI document the API serves.
//!
//! The test command installs the pinned schemathesis of
//! `tests/schemathesis-requirements.txt` into `target/schemathesis-venv` (see README:
//! Testing); this module runs that binary, never one found on `PATH`, so every machine
//! runs the same version.
//!
//! Runs are repeatable: generation is deterministic (a fixed sequence, no example
//! database), schemathesis keeps no cache, and it works in a temp dir so that nothing
//! from an earlier run is picked up. Sessions the tests seed are handed to it as
//! dictionary values for the `{id}` parameter, half of the time, so that the session
//! routes answer with more than 400 and 404.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

/// What every response must pass: status, content type, headers and body as the
/// document says.
const CONFORMANCE_CHECKS: &str = "status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance";

/// Test cases per operation and phase: enough to reach every documented answer, few
/// enough for a run of seconds.
pub const MAX_EXAMPLES: u32 = 20;

/// How long schemathesis reads an event stream before cutting it short. A stream
/// stays open while a run may still come; a cut-short stream is not a failure.
const EVENT_STREAM_SECS: u32 = 2;

/// `target/schemathesis-venv/bin/schemathesis`, next to `target/<profile>/`.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("target directory");
    let path = target.join("schemathesis-venv/bin/schemathesis");
    assert!(
        path.is_file(),
        "{} is missing: install it first (the README's test command, ./scripts/test, does)",
        path.display()
    );
    path
}

/// Sessions seeded before a run, by what a test case may do with them.
#[derive(Clone, Debug)]
pub struct SeededSessions {
    /// Processed: status, download, rows and events all have something to show.
    pub completed: String,
    /// Uploaded and never processed: the one `POST …/process` may start.
    pub uploaded: String,
    /// The one `DELETE` may remove, so that the others stay for the rest of the run.
    pub doomed: String,
}

/// Bearer tokens for the document's security schemes.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub submitter: String,
    pub ops: String,
}

/// One schemathesis run's configuration (`schemathesis.toml`).
#[derive(Clone, Debug)]
pub struct Run {
    pub sessions: SeededSessions,
    pub tokens: Option<Tokens>,
    /// The store is down on purpose: its 503s are the answers under test, so only
    /// their conformance is checked. Otherwise any 5xx fails the run.
    pub store_down: bool,
}

impl Run {
    fn config(&self) -> String {
        let s = &self.sessions;
        let mut toml = String::new();
        let _ = writeln!(
            toml,
            r#"[cache]
enabled = false

[dictionaries.completed]
values = ["{}"]
[dictionaries.uploaded]
values = ["{}"]
[dictionaries.doomed]
values = ["{}"]

[parameters]
"path.id" = {{ dictionary = "completed", probability = 0.5 }}

[[operations]]
include-path = "/api/v1/sessions/{{id}}/process"
parameters = {{ "path.id" = {{ dictionary = "uploaded", probability = 0.5 }} }}

[[operations]]
include-path = "/api/v1/sessions/{{id}}"
include-method = "DELETE"
parameters = {{ "path.id" = {{ dictionary = "doomed", probability = 0.5 }} }}

[[operations]]
include-path = "/api/v1/sessions/{{id}}/events"
request-timeout = {EVENT_STREAM_SECS}
"#,
            s.completed, s.uploaded, s.doomed
        );
        if let Some(t) = &self.tokens {
            let _ = writeln!(
                toml,
                r#"[auth.openapi.submitterToken]
bearer = "{}"
[auth.openapi.opsToken]
bearer = "{}""#,
                t.submitter, t.ops
            );
        }
        toml
    }

    /// Runs schemathesis against the API at `base` (`http://127.0.0.1:<port>`).
    /// `Ok(output)` when it found nothing, `Err(output)` otherwise.
    pub async fn against(&self, base: &str) -> Result<String, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("schemathesis.toml");
        std::fs::write(&config, self.config()).expect("write schemathesis.toml");
        let max_examples = MAX_EXAMPLES.to_string();
        let checks = if self.store_down {
            CONFORMANCE_CHECKS.to_owned()
        } else {
            format!("not_a_server_error,{CONFORMANCE_CHECKS}")
        };
        let started = Instant::now();
        let mut cmd = tokio::process::Command::new(binary());
        cmd.arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(format!("{base}/api/v1/openapi.json"))
            .args(["--checks", &checks])
            .args(["--max-examples", &max_examples])
            .arg("--generation-deterministic")
            // One request at a time: the order, and so the run, is the same every time.
            .args(["--workers", "1"])
            // Generous for a loaded machine; only the event streams are cut short sooner.
            .args(["--request-timeout", "30"])
            .arg("--no-color")
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(Duration::from_secs(600), cmd.output())
            .await
            .expect("schemathesis finished within 10 minutes")
            .expect("run schemathesis");
        let text = format!(
            "schemathesis took {:.1} s, {}\n{}{}",
            started.elapsed().as_secs_f64(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if output.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }
}
