//! [`SqlError`]: why a fleet table could not be opened or scanned, one line each.

use fleet_engine::input::descriptor::DescriptorError;
use fleet_engine::DatasetError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    #[error("{}: [types] {column} = \"{ty}\": {message}", .path.display())]
    Types {
        path: PathBuf,
        column: String,
        ty: String,
        message: String,
    },
    #[error("{}: cannot read a sample to infer column types: {message}", .path.display())]
    Sample { path: PathBuf, message: String },
    #[error("cannot start the query runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Query(String),
    #[error("cannot write the result: {0}")]
    Output(std::io::Error),
    #[error("standard input ('-') cannot be a SQL table: it can be read only once")]
    Stdin,
}
