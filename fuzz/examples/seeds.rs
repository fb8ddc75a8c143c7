//! Writes the seed corpora: `cargo run -p sensor-fuzz --example seeds [TARGET...]`.
//!
//! Each seed goes to `fuzz/corpus/<target>/seed-<name>`, replacing a seed of the same name;
//! other corpus files are left alone, so running it over a minimized corpus only adds seeds
//! back. Minimize afterwards with `cargo fuzz cmin <target>`. It also rewrites the small rule
//! sets with automata in `fuzz/miri/` that the Miri test replays.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let targets = sensor_fuzz::TARGETS
        .iter()
        .map(|(t, _)| *t)
        .chain(["flawed_finds_291", "flawed_finds_291_raw"]);
    for target in targets {
        if !args.is_empty() && !args.iter().any(|a| a == target) {
            continue;
        }
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        let seeds = sensor_fuzz::seeds::seeds(target);
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
        }
        println!("{target}: {} seeds in {}", seeds.len(), dir.display());
    }
    let miri = Path::new(env!("CARGO_MANIFEST_DIR")).join("miri");
    std::fs::create_dir_all(&miri)?;
    for (name, bytes) in sensor_fuzz::seeds::miri_samples() {
        std::fs::write(miri.join(format!("{name}.sncf")), bytes)?;
    }
    Ok(())
}
