//! Text for one-line error messages, used by every layer that names a user's input.

/// Keeps messages on one line even when the user's text holds a newline or tab.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}
