//! `-o FILE` for every command that reads a dataset: refused when it is one of the inputs
//! (however it is spelled), written under no name until complete.

use anyhow::{bail, Context};
use fleet_engine::output::{clobbers_input, AtomicOutput};
use fleet_engine::Dataset;
use std::path::Path;

/// `-o FILE`, refused when it is one of the dataset's files.
pub fn open_output_file(path: &Path, ds: &Dataset) -> anyhow::Result<AtomicOutput> {
    let inputs = ds.plan.files.iter().map(|f| f.path.as_path());
    if let Some(input) = clobbers_input(path, inputs) {
        bail!(
            "--output {} is one of the inputs ({}); refusing to overwrite it",
            path.display(),
            input.display()
        );
    }
    AtomicOutput::create(path).with_context(|| format!("cannot create {}", path.display()))
}
