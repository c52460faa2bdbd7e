//! The fuzzing batch: the `maplink-fuzz` binary puts 20,000 mutated .xlsx and .csv files
//! (and its seed files, past findings among them) through the upload check and the job.
//! It runs as a child process under an address-space cap, so that an abort — a failed
//! allocation is one — fails this test instead of ending the suite; the harness itself
//! fails on a panic, an error that is not a refusal, the two paths disagreeing, a hang
//! or a peak RSS over 1 GiB, and says how to reproduce each.

use std::{process::Command, time::Instant};

use maplink_tests::binaries::binary;

/// Address space the harness may map (KiB). Its peak is about 700 MiB of mappings
/// (thread stacks and allocator arenas, mostly untouched) for about 300 MiB resident.
const ADDRESS_SPACE_KIB: u64 = 2 * 1024 * 1024;

#[test]
fn twenty_thousand_mutated_sheets_neither_panic_nor_exhaust_memory() {
    let harness = binary("maplink-fuzz");
    let started = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(&harness)
        .args(["--seed", "1", "--inputs", "20000"])
        .output()
        .expect("run the fuzzing harness");
    let took = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "{stdout}(the batch took {took:.0} s under a {ADDRESS_SPACE_KIB} KiB address-space cap)"
    );
    let tail: String = {
        let lines: Vec<&str> = stderr.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    assert!(
        out.status.success(),
        "the fuzzing batch failed ({}).\n{stdout}\nlast lines of its log:\n{tail}\n\
         A finding names its case and the command that reproduces it. A process that died \
         (a signal, or a failed allocation) was between the last progress line and the \
         next 10,000 cases: rerun `{} --seed 1 --from <last count> --inputs 10000 --trace` \
         to see the case it died on.",
        out.status,
        harness.display()
    );
}
