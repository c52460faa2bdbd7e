//! The run: every seed and regression file as it is, then `inputs` mutated files, each
//! through the two paths a file takes in the service (see `target.rs`): the upload
//! check, then the job, whose output must read back.
//!
//! A finding is any of: a panic, anywhere (see `guard.rs`); an error that is not a
//! refusal of the file (`Sheet`, `TooLarge`, `Invalid`); the two paths disagreeing (the
//! upload check accepts a file the job then fails on, or counts other rows; or refuses
//! it for another reason than the job); an output that does not read back; an input
//! still running after the time limit; a peak RSS over the limit. An abort (such as a
//! failed allocation) ends the process: the caller sees it in the exit status.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    path::PathBuf,
    time::{Duration, Instant},
};

use maplink::{Error, domain::FileFormat};

use crate::{
    corpus::{self, Seed},
    guard::{self, Watchdog},
    mutate::{self, Input},
    report::{self, Tally},
    rng::Rng,
    target::{Done, Target},
};

#[derive(Debug)]
pub struct Config {
    pub seed: u64,
    /// Mutated inputs to run, from case `from` on.
    pub inputs: u64,
    pub from: u64,
    /// Runs this case only, and says what it did.
    pub case: Option<u64>,
    /// Runs these files as they are (their extension names the format), and nothing else.
    pub replay: Vec<PathBuf>,
    /// Past findings, run as they are before the mutated inputs.
    pub regressions: Option<PathBuf>,
    pub failures: PathBuf,
    pub max_input: Duration,
    pub max_rss_mib: u64,
    /// Prints each case number before running it (to find one that aborts).
    pub trace: bool,
}

/// Which input: a file run as it is, or a mutated case.
enum Which<'a> {
    File(&'a str),
    Case(u64),
}

/// Runs the configured inputs; `Ok(true)` when there was no finding.
pub fn run(config: &Config) -> Result<bool, String> {
    guard::record_panics();
    let seeds = corpus::seeds();
    let as_they_are = if config.replay.is_empty() {
        let mut files = seeds.clone();
        if let Some(dir) = &config.regressions {
            files.extend(corpus::files(dir).map_err(|e| format!("{}: {e}", dir.display()))?);
        }
        files
    } else {
        replay_files(&config.replay)?
    };
    let mut runner = Runner {
        config,
        target: Target::new()?,
        watchdog: Watchdog::start(config.max_input),
        tally: Tally::default(),
    };
    let started = Instant::now();
    if let Some(case) = config.case {
        if let Some(input) = runner.build(&seeds, case) {
            println!(
                "case {case}: {} bytes as .{} from {}; {}",
                input.bytes.len(),
                input.format.extension(),
                input.seed,
                input.steps.join("; ")
            );
            let file = runner.file(&Which::Case(case), input.format);
            println!("input {}", report::save(&file, &input.bytes));
            runner.check(&input, &Which::Case(case), true);
        }
    } else {
        for seed in &as_they_are {
            let input = Input {
                format: seed.format,
                bytes: seed.bytes.clone(),
                seed: seed.name.clone(),
                steps: Vec::new(),
            };
            runner.check(&input, &Which::File(&seed.name), false);
        }
        if config.replay.is_empty() {
            for case in config.from..config.from.saturating_add(config.inputs) {
                if config.trace {
                    eprintln!("case {case}");
                }
                if let Some(input) = runner.build(&seeds, case) {
                    runner.check(&input, &Which::Case(case), false);
                }
                let done = case + 1 - config.from;
                if done.is_multiple_of(10_000) {
                    eprintln!("  {done} inputs, {:.0} s", started.elapsed().as_secs_f64());
                }
            }
        }
    }
    let Runner { mut tally, .. } = runner;
    if tally.peak_rss_kib > config.max_rss_mib * 1024 {
        tally.finding(format!(
            "peak RSS {} MiB is over the limit of {} MiB (reached at {})",
            tally.peak_rss_kib / 1024,
            config.max_rss_mib,
            tally.peak_rss_at.as_deref().unwrap_or("-")
        ));
    }
    print!("{}", tally.summary(config.seed, started.elapsed()));
    Ok(tally.findings == 0)
}

struct Runner<'a> {
    config: &'a Config,
    target: Target,
    watchdog: Watchdog,
    tally: Tally,
}

impl Runner<'_> {
    /// Builds case `case`; a panic while building (in the zip library, unpacking or
    /// packing a mutated file) is a finding of its own.
    fn build(&mut self, seeds: &[Seed], case: u64) -> Option<Input> {
        let started = Instant::now();
        let built =
            catch_unwind(|| mutate::input(seeds, &mut Rng::for_case(self.config.seed, case)));
        self.tally.building += started.elapsed();
        let panics = guard::take_panics();
        match built {
            Ok(input) => Some(input),
            Err(_) => {
                let reproduce = self.reproduce(&Which::Case(case));
                self.tally.finding(format!(
                    "case {case}: panic while building the input (zip): {}{reproduce}",
                    panics.first().map_or("?", String::as_str),
                ));
                None
            }
        }
    }

    fn label(which: &Which) -> String {
        match which {
            Which::File(name) => format!("seed file {name}"),
            Which::Case(case) => format!("case {case}"),
        }
    }

    fn reproduce(&self, which: &Which) -> String {
        match which {
            Which::File(_) => String::new(),
            Which::Case(case) => format!(
                "; reproduce: cargo run --release -p maplink-fuzz -- --seed {} --case {case}",
                self.config.seed
            ),
        }
    }

    /// Where the input is saved if it is a finding.
    fn file(&self, which: &Which, format: FileFormat) -> PathBuf {
        let name = match which {
            Which::File(name) => format!("seed-file-{name}"),
            Which::Case(case) => format!(
                "seed-{}-case-{case}.{}",
                self.config.seed,
                format.extension()
            ),
        };
        self.config.failures.join(name)
    }

    /// Runs one input through both paths and records the verdict.
    fn check(&mut self, input: &Input, which: &Which, verbose: bool) {
        let (bytes, format) = (&input.bytes, input.format);
        let label = Self::label(which);
        let file = self.file(which, format);
        self.watchdog.begin(&label, bytes, file.clone());
        guard::take_panics();
        let started = Instant::now();
        let upload = catch_unwind(AssertUnwindSafe(|| self.target.upload(bytes, format)));
        let upload_took = started.elapsed();
        let job = catch_unwind(AssertUnwindSafe(|| self.target.job(bytes, format)));
        let took = started.elapsed();
        let panics = guard::take_panics();

        let tally = &mut self.tally;
        tally.inputs += 1;
        match format {
            FileFormat::Xlsx => tally.xlsx += 1,
            FileFormat::Csv => tally.csv += 1,
        }
        tally.timed(took, &label, bytes.len());
        tally.memory(&label);
        if verbose {
            let job_took = took - upload_took;
            println!(
                "upload check ({:.3} s): {upload:?}",
                upload_took.as_secs_f64()
            );
            println!("job ({:.3} s): {job:?}", job_took.as_secs_f64());
        }
        let mut problems = Vec::new();
        if !panics.is_empty() {
            problems.push(format!("panic: {}", panics.join(" | ")));
        }
        // A panic that reached this far is recorded above by the hook.
        if let (Ok(upload), Ok(job)) = (&upload, &job) {
            problems.extend(verdict(upload, job, tally));
        }
        if !problems.is_empty() {
            let saved = report::save(&file, bytes);
            let how = if input.steps.is_empty() {
                String::new()
            } else {
                format!(" from {} ({})", input.seed, input.steps.join("; "))
            };
            let reproduce = self.reproduce(which);
            self.tally.finding(format!(
                "{label}: .{}{how}: {}; input {saved}{reproduce}",
                format.extension(),
                problems.join("; ")
            ));
        }
    }
}

/// What is wrong with the two paths' answers for one file (nothing, mostly), counting
/// the answers in `tally`.
fn verdict(
    upload: &maplink::Result<u64>,
    job: &maplink::Result<Done>,
    tally: &mut Tally,
) -> Vec<String> {
    let mut problems = Vec::new();
    match (upload, job) {
        (Ok(rows), Ok(done)) => {
            tally.accepted += 1;
            tally.converted += 1;
            tally.rows += done.rows;
            if *rows != done.rows {
                problems.push(format!(
                    "the upload check counted {rows} rows, the job {}",
                    done.rows
                ));
            }
            if let Err(e) = &done.read_back {
                problems.push(format!("the job's output does not read back: {e}"));
            }
        }
        (Err(refused), Err(failed)) => {
            tally.refusal(refused);
            for (path, e) in [("upload check", refused), ("job", failed)] {
                if !is_refusal(e) {
                    problems.push(format!(
                        "the {path} failed with an error that is not a refusal: {e:?}"
                    ));
                }
            }
            if refused.to_string() != failed.to_string() {
                problems.push(format!(
                    "the upload check refused with {refused:?}, the job with {failed:?}"
                ));
            }
        }
        (Ok(_), Err(failed)) => {
            tally.accepted += 1;
            problems.push(format!(
                "the upload check accepted the file, the job failed: {failed:?}"
            ));
        }
        (Err(refused), Ok(_)) => {
            tally.refusal(refused);
            tally.converted += 1;
            problems.push(format!(
                "the upload check refused the file ({refused:?}), the job converted it"
            ));
        }
    }
    problems
}

/// A refusal of the file, with a message for its user.
fn is_refusal(e: &Error) -> bool {
    matches!(e, Error::Sheet(_) | Error::TooLarge(_) | Error::Invalid(_))
}

fn replay_files(paths: &[PathBuf]) -> Result<Vec<Seed>, String> {
    paths
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let format = FileFormat::from_filename(&name)
                .ok_or_else(|| format!("{}: not a .xlsx or .csv file", path.display()))?;
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Ok(Seed {
                name,
                format,
                bytes,
            })
        })
        .collect()
}
