//! The floor for reading JSON lines, for `scripts/bench.sh`: parse every line of a file with
//! `serde_json` (the same build and features as leastpriv) and do nothing with it.
//!
//! ```text
//! cargo run --release --example json_floor -- FILE value     # serde_json::Value per line
//! cargo run --release --example json_floor -- FILE ignored   # serde::de::IgnoredAny per line
//! ```
//!
//! Prints the number of lines and the seconds taken (reading included).

use std::io::BufRead;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(path), mode) = (args.next(), args.next()) else {
        eprintln!("usage: json_floor FILE [value|ignored]");
        std::process::exit(2);
    };
    let ignored = mode.as_deref() == Some("ignored");
    let started = std::time::Instant::now();
    let input = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(&path)?);
    let mut lines = 0u64;
    let mut bad = 0u64;
    for line in input.lines() {
        let line = line?;
        let ok = if ignored {
            serde_json::from_str::<serde::de::IgnoredAny>(&line).is_ok()
        } else {
            serde_json::from_str::<serde_json::Value>(&line)
                .map(std::hint::black_box)
                .is_ok()
        };
        lines += 1;
        bad += u64::from(!ok);
    }
    println!(
        "{lines} lines ({bad} not JSON) in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
