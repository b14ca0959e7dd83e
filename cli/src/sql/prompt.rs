//! The `fleet>` prompt's line source at a terminal: rustyline's editor (line editing, and
//! history kept across sessions in a file), or plain reads of standard input where the
//! editor cannot run. `statements.rs` cuts what it returns into statements.

use fleet_engine::job::interrupt;
use rustyline::config::{Behavior, Config};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;
use std::io::{self, BufRead, StdinLock, Write};
use std::path::PathBuf;

/// Lines kept in the history file.
const HISTORY_LINES: usize = 1000;

/// One line read: its text with a final `\n`, the end of the input, or Ctrl-C.
pub(super) enum Line {
    Text(Vec<u8>),
    End,
    Interrupted,
}

/// Where the statements' lines come from.
pub(super) enum LineSource<'a> {
    /// A terminal, through the line editor; the history is saved when this is dropped.
    Editor {
        editor: Box<DefaultEditor>,
        history: Option<PathBuf>,
    },
    /// A pipe or a file (or a terminal the editor cannot drive), `prompt` shown on stderr.
    Stdin { input: StdinLock<'a>, prompt: bool },
}

impl LineSource<'_> {
    /// A source for standard input: the editor when `prompt` (stdin is a terminal) and it
    /// can start, plain reads otherwise.
    pub(super) fn new(prompt: bool) -> LineSource<'static> {
        if prompt {
            let config = Config::builder()
                .behavior(Behavior::PreferTerm)
                .auto_add_history(false)
                .max_history_size(HISTORY_LINES)
                .map(|b| b.build());
            if let Ok(Ok(mut editor)) = config.map(DefaultEditor::with_config) {
                let history = history_file();
                if let Some(path) = &history {
                    // A first session has no file yet; an unreadable one starts empty.
                    let _ = editor.load_history(path);
                }
                return LineSource::Editor {
                    editor: Box::new(editor),
                    history,
                };
            }
        }
        LineSource::Stdin {
            input: io::stdin().lock(),
            prompt,
        }
    }

    /// The next line; `prompt` is shown first at a terminal.
    pub(super) fn next(&mut self, prompt: &str) -> io::Result<Line> {
        match self {
            LineSource::Editor { editor, .. } => loop {
                match editor.readline(prompt) {
                    Ok(mut text) => {
                        if !text.trim().is_empty() {
                            let _ = editor.add_history_entry(text.as_str());
                        }
                        text.push('\n');
                        return Ok(Line::Text(text.into_bytes()));
                    }
                    Err(ReadlineError::Eof) => return Ok(Line::End),
                    Err(ReadlineError::Interrupted) => return Ok(Line::Interrupted),
                    // A resized window (SIGWINCH) interrupts the read: read on.
                    Err(ReadlineError::Signal(_)) => continue,
                    Err(e) => {
                        return Err(io::Error::other(format!("cannot read the terminal: {e}")))
                    }
                }
            },
            LineSource::Stdin {
                input,
                prompt: shown,
            } => {
                if *shown {
                    eprint!("{prompt}");
                    let _ = io::stderr().flush();
                }
                let mut line = Vec::new();
                Ok(match read_line(input, &mut line)? {
                    None => Line::Interrupted,
                    Some(0) => Line::End,
                    Some(_) => Line::Text(line),
                })
            }
        }
    }
}

impl Drop for LineSource<'_> {
    fn drop(&mut self) {
        if let LineSource::Editor {
            editor,
            history: Some(path),
        } = self
        {
            if let Err(e) = editor.save_history(path) {
                eprintln!(
                    "fleet: cannot save the prompt's history to {}: {e}",
                    path.display()
                );
            }
        }
    }
}

/// `$FLEET_HISTORY` (set but empty: no history file), else `~/.fleet_history`.
fn history_file() -> Option<PathBuf> {
    match std::env::var_os("FLEET_HISTORY") {
        Some(path) if path.is_empty() => None,
        Some(path) => Some(PathBuf::from(path)),
        None => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|home| PathBuf::from(home).join(".fleet_history")),
    }
}

/// One line into `line` (with its `\n`); `Some(0)` at the end of the input, `None` after
/// Ctrl-C. Reads through `fill_buf` because `read_line` retries a read the signal cut short,
/// which would leave Ctrl-C at the prompt unanswered until Enter.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<Option<usize>> {
    loop {
        let buf = match input.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                if interrupt::interrupted() {
                    return Ok(None);
                }
                continue;
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot read standard input: {e}"),
                ))
            }
        };
        if buf.is_empty() {
            return Ok(Some(line.len()));
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                line.extend_from_slice(&buf[..=i]);
                input.consume(i + 1);
                return Ok(Some(line.len()));
            }
            None => {
                let n = buf.len();
                line.extend_from_slice(buf);
                input.consume(n);
            }
        }
    }
}
