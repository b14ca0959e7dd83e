//! Parsing of user-written column expressions: `--where COLUMN OP VALUE` (or `COLUMN is
//! null`, `COLUMN is not null`) and column lists such as `--select id,time,3`.
//!
//! This is purely syntactic: a column stays a [`ColumnRef`] (a name or a 1-based position)
//! until [`crate::input::schema::Schema::resolve`] checks it against the data, and the value stays
//! text until [`crate::query::predicate::Predicate::compile`] decides whether it is numeric. Errors
//! carry the text and a 1-based character position so the CLI can point at the mistake.

use crate::text::one_line;
use std::fmt;

/// A column as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRef {
    Name(String),
    /// 1-based, always >= 1.
    Index(usize),
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnRef::Name(name) => f.write_str(name),
            ColumnRef::Index(i) => write!(f, "{i}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// Unanchored regex search.
    Regex,
    /// `is null`: the field is missing (no value).
    IsNull,
    /// `is not null`.
    IsNotNull,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Regex => "~",
            Op::IsNull => "is null",
            Op::IsNotNull => "is not null",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhereExpr {
    pub column: ColumnRef,
    pub op: Op,
    /// Unquoted; may be empty (`name=` selects empty fields); empty for `is null`.
    pub value: String,
}

/// Every error names the text it came from and a 1-based character position in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("invalid --where '{}': expected an operator (=, !=, <, <=, >, >=, ~, is null, is not null) at position {position}", one_line(.expr))]
    NoOperator { expr: String, position: usize },
    #[error("invalid --where '{}': expected a column name before '{op}' at position {position}", one_line(.expr))]
    EmptyColumn {
        expr: String,
        position: usize,
        op: String,
    },
    #[error("invalid --where '{}': expected '!=' at position {position}", one_line(.expr))]
    BadOperator { expr: String, position: usize },
    #[error("invalid --where '{}': expected a value at position {position}, not '{ch}' (quote the value if it really starts with '{ch}')", one_line(.expr))]
    ValueStartsWithOperator {
        expr: String,
        position: usize,
        ch: char,
    },
    #[error("invalid --where '{}': unterminated {quote} quote opened at position {position}: expected a closing {quote} at the end", one_line(.expr))]
    UnterminatedQuote {
        expr: String,
        position: usize,
        quote: char,
    },
    #[error("invalid column in '{}' at position {position}: expected a position 1 or greater (positions are 1-based)", one_line(.text))]
    ZeroPosition { text: String, position: usize },
    #[error("invalid column in '{}' at position {position}: the column position is too large", one_line(.text))]
    PositionTooLarge { text: String, position: usize },
    #[error("invalid column list '{}': expected a column name or position at position {position}", one_line(.list))]
    EmptyListItem { list: String, position: usize },
    /// The structure of a boolean `--where` ([`crate::query::boolean`]).
    #[error("invalid --where '{}': {what} at position {position}", one_line(.expr))]
    Syntax {
        expr: String,
        position: usize,
        what: String,
    },
}

impl ExprError {
    /// The 1-based character position the error points at.
    pub fn position(&self) -> usize {
        match *self {
            ExprError::NoOperator { position, .. }
            | ExprError::EmptyColumn { position, .. }
            | ExprError::BadOperator { position, .. }
            | ExprError::ValueStartsWithOperator { position, .. }
            | ExprError::UnterminatedQuote { position, .. }
            | ExprError::ZeroPosition { position, .. }
            | ExprError::PositionTooLarge { position, .. }
            | ExprError::EmptyListItem { position, .. }
            | ExprError::Syntax { position, .. } => position,
        }
    }
}

const OPERATOR_CHARS: &[char] = &['<', '>', '=', '!', '~'];

/// Longest first: the operator is the longest one that starts at the operator position.
const OPERATORS: &[(&str, Op)] = &[
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("=", Op::Eq),
    ("<", Op::Lt),
    (">", Op::Gt),
    ("~", Op::Regex),
];

/// Parses `COLUMN OP VALUE`, `COLUMN is null` or `COLUMN is not null` (any case); see the
/// module docs for the grammar.
pub fn parse_where(text: &str) -> Result<WhereExpr, ExprError> {
    if let Some((column_text, op)) = null_test(text) {
        let column_at = text.len() - text.trim_start().len();
        let column = parse_column(column_text, text, column_at)?;
        return Ok(WhereExpr {
            column,
            op,
            value: String::new(),
        });
    }
    let err_expr = || text.to_string();
    let Some(op_at) = text.find(OPERATOR_CHARS) else {
        return Err(ExprError::NoOperator {
            expr: err_expr(),
            position: no_operator_position(text),
        });
    };
    let rest = &text[op_at..];
    let Some(&(op_text, op)) = OPERATORS.iter().find(|(s, _)| rest.starts_with(s)) else {
        // Only a '!' not followed by '=' gets here.
        return Err(ExprError::BadOperator {
            expr: err_expr(),
            position: char_pos(text, op_at),
        });
    };

    let column_text = text[..op_at].trim();
    if column_text.is_empty() {
        return Err(ExprError::EmptyColumn {
            expr: err_expr(),
            position: char_pos(text, op_at),
            op: op_text.to_string(),
        });
    }
    let column_at = op_at - text[..op_at].trim_start().len();
    let column = parse_column(column_text, text, column_at)?;

    let value_start = op_at + op_text.len();
    let raw = &text[value_start..];
    let value_at = value_start + (raw.len() - raw.trim_start().len());
    let value = raw.trim();
    let value = match value.chars().next() {
        Some(q @ ('"' | '\'')) => {
            if value.len() >= 2 && value.ends_with(q) {
                value[1..value.len() - 1].to_string()
            } else {
                return Err(ExprError::UnterminatedQuote {
                    expr: err_expr(),
                    position: char_pos(text, value_at),
                    quote: q,
                });
            }
        }
        Some(c) if OPERATOR_CHARS.contains(&c) => {
            return Err(ExprError::ValueStartsWithOperator {
                expr: err_expr(),
                position: char_pos(text, value_at),
                ch: c,
            });
        }
        _ => value.to_string(),
    };
    Ok(WhereExpr { column, op, value })
}

/// `COLUMN is null` / `COLUMN is not null`: the trimmed column and the test, when the text
/// ends with those words and the column holds no operator character (`note=is null` compares
/// `note` with the text "is null").
fn null_test(text: &str) -> Option<(&str, Op)> {
    let head = strip_word(text, "null")?;
    let (head, op) = match strip_word(head, "not").and_then(|h| strip_word(h, "is")) {
        Some(h) => (h, Op::IsNotNull),
        None => (strip_word(head, "is")?, Op::IsNull),
    };
    let column = head.trim();
    (!column.is_empty() && !column.contains(OPERATOR_CHARS)).then_some((column, op))
}

/// `text` without its last word when that is `word` (any ASCII case) preceded by whitespace.
fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let text = text.trim_end();
    let cut = text.len().checked_sub(word.len())?;
    let (head, tail) = (text.get(..cut)?, text.get(cut..)?);
    (tail.eq_ignore_ascii_case(word) && head.ends_with(char::is_whitespace)).then_some(head)
}

/// Parses a comma-separated list such as `id,time,3`; items are trimmed, empty items are errors.
pub fn parse_column_list(text: &str) -> Result<Vec<ColumnRef>, ExprError> {
    let mut out = Vec::new();
    let mut start = 0;
    for item in text.split(',') {
        let trimmed = item.trim();
        let item_at = start + (item.len() - item.trim_start().len());
        if trimmed.is_empty() {
            return Err(ExprError::EmptyListItem {
                list: text.to_string(),
                position: char_pos(text, item_at),
            });
        }
        out.push(parse_column(trimmed, text, item_at)?);
        start += item.len() + 1;
    }
    Ok(out)
}

/// All-ASCII-digits is a position, anything else a name. `whole`/`at` locate it for errors.
pub(crate) fn parse_column(column: &str, whole: &str, at: usize) -> Result<ColumnRef, ExprError> {
    if !column.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(ColumnRef::Name(column.to_string()));
    }
    match column.parse::<usize>() {
        Ok(0) => Err(ExprError::ZeroPosition {
            text: whole.to_string(),
            position: char_pos(whole, at),
        }),
        Ok(n) => Ok(ColumnRef::Index(n)),
        Err(_) => Err(ExprError::PositionTooLarge {
            text: whole.to_string(),
            position: char_pos(whole, at),
        }),
    }
}

/// Where an operator was most likely meant to go: after the first word (`id 11865` → 3),
/// or just past the end when there is only one word.
fn no_operator_position(text: &str) -> usize {
    let lead = text.len() - text.trim_start().len();
    match text[lead..].find(char::is_whitespace) {
        Some(gap) => char_pos(text, lead + gap),
        None => text.trim_end().chars().count() + 1,
    }
}

/// 1-based character position of byte offset `byte` (always a char boundary here).
pub(crate) fn char_pos(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(0, |s| s.chars().count()) + 1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn w(column: ColumnRef, op: Op, value: &str) -> WhereExpr {
        WhereExpr {
            column,
            op,
            value: value.to_string(),
        }
    }

    fn name(s: &str) -> ColumnRef {
        ColumnRef::Name(s.to_string())
    }

    #[test]
    fn every_operator() {
        let cases = [
            ("id=5", Op::Eq),
            ("id==5", Op::Eq),
            ("id!=5", Op::Ne),
            ("id<5", Op::Lt),
            ("id<=5", Op::Le),
            ("id>5", Op::Gt),
            ("id>=5", Op::Ge),
            ("id~5", Op::Regex),
        ];
        for (text, op) in cases {
            assert_eq!(parse_where(text).unwrap(), w(name("id"), op, "5"), "{text}");
        }
    }

    #[test]
    fn op_display() {
        let shown: Vec<String> = [
            Op::Eq,
            Op::Ne,
            Op::Lt,
            Op::Le,
            Op::Gt,
            Op::Ge,
            Op::Regex,
            Op::IsNull,
            Op::IsNotNull,
        ]
        .iter()
        .map(|o| o.to_string())
        .collect();
        assert_eq!(
            shown,
            [
                "=",
                "!=",
                "<",
                "<=",
                ">",
                ">=",
                "~",
                "is null",
                "is not null"
            ]
        );
    }

    #[test]
    fn null_tests() {
        assert_eq!(
            parse_where("arr_delay is null").unwrap(),
            w(name("arr_delay"), Op::IsNull, "")
        );
        assert_eq!(
            parse_where("  dep time  IS   NOT\tNull ").unwrap(),
            w(name("dep time"), Op::IsNotNull, "")
        );
        assert_eq!(
            parse_where("3 is null").unwrap(),
            w(ColumnRef::Index(3), Op::IsNull, "")
        );
        // A column named "is" and one named "not".
        assert_eq!(
            parse_where("is is null").unwrap(),
            w(name("is"), Op::IsNull, "")
        );
        assert_eq!(
            parse_where("not is not null").unwrap(),
            w(name("not"), Op::IsNotNull, "")
        );
        // With an operator it is a comparison with the text.
        assert_eq!(
            parse_where("note=is null").unwrap(),
            w(name("note"), Op::Eq, "is null")
        );
        // Not the null test: no column, or glued words.
        assert!(matches!(
            parse_where("is null").unwrap_err(),
            ExprError::NoOperator { .. }
        ));
        assert!(parse_where("x isnull").is_err());
        assert!(parse_where("x is nul").is_err());
        assert!(matches!(
            parse_where("0 is null").unwrap_err(),
            ExprError::ZeroPosition { .. }
        ));
    }

    #[test]
    fn whitespace_is_trimmed() {
        assert_eq!(
            parse_where("  id  >=  11865  ").unwrap(),
            w(name("id"), Op::Ge, "11865")
        );
        assert_eq!(
            parse_where("pickup time = x y").unwrap(),
            w(name("pickup time"), Op::Eq, "x y")
        );
    }

    #[test]
    fn positions_and_names() {
        assert_eq!(
            parse_where("3<1.5").unwrap(),
            w(ColumnRef::Index(3), Op::Lt, "1.5")
        );
        assert_eq!(
            parse_where("007=a").unwrap(),
            w(ColumnRef::Index(7), Op::Eq, "a")
        );
        assert_eq!(parse_where("3a=a").unwrap(), w(name("3a"), Op::Eq, "a"));
        assert_eq!(parse_where("+3=a").unwrap(), w(name("+3"), Op::Eq, "a"));
    }

    #[test]
    fn quoting() {
        assert_eq!(
            parse_where(r#"time>="2015-02-01 08:00:00""#).unwrap(),
            w(name("time"), Op::Ge, "2015-02-01 08:00:00")
        );
        assert_eq!(
            parse_where("name = '  padded  '").unwrap(),
            w(name("name"), Op::Eq, "  padded  ")
        );
        assert_eq!(parse_where("x=\">5\"").unwrap(), w(name("x"), Op::Eq, ">5"));
        assert_eq!(parse_where("x=''").unwrap(), w(name("x"), Op::Eq, ""));
        // A quote of the other kind inside is kept verbatim.
        assert_eq!(
            parse_where(r#"x="it's""#).unwrap(),
            w(name("x"), Op::Eq, "it's")
        );
        // Quotes only count when they wrap the whole value.
        assert_eq!(parse_where("x=it's").unwrap(), w(name("x"), Op::Eq, "it's"));
    }

    #[test]
    fn empty_value_is_allowed() {
        assert_eq!(parse_where("name=").unwrap(), w(name("name"), Op::Eq, ""));
        assert_eq!(
            parse_where("name !=  ").unwrap(),
            w(name("name"), Op::Ne, "")
        );
    }

    #[test]
    fn regex_value_kept_verbatim() {
        assert_eq!(
            parse_where("name~^A.*[0-9]$").unwrap(),
            w(name("name"), Op::Regex, "^A.*[0-9]$")
        );
    }

    #[test]
    fn error_no_operator() {
        let e = parse_where("id 11865").unwrap_err();
        assert_eq!(
            e,
            ExprError::NoOperator {
                expr: "id 11865".into(),
                position: 3
            }
        );
        assert!(e.to_string().contains("'id 11865'"), "{e}");
        assert!(e.to_string().contains("position 3"), "{e}");
        let e = parse_where("id").unwrap_err();
        assert!(
            matches!(e, ExprError::NoOperator { position: 3, .. }),
            "{e:?}"
        );
        let e = parse_where("").unwrap_err();
        assert!(
            matches!(e, ExprError::NoOperator { position: 1, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn error_empty_column() {
        let e = parse_where("=5").unwrap_err();
        assert!(
            matches!(e, ExprError::EmptyColumn { position: 1, .. }),
            "{e:?}"
        );
        let e = parse_where("  >= 5").unwrap_err();
        assert!(
            matches!(e, ExprError::EmptyColumn { position: 3, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("before '>='"), "{e}");
    }

    #[test]
    fn error_value_starts_with_operator() {
        let e = parse_where("id=>5").unwrap_err();
        assert_eq!(
            e,
            ExprError::ValueStartsWithOperator {
                expr: "id=>5".into(),
                position: 4,
                ch: '>'
            }
        );
        assert!(
            e.to_string()
                .contains("quote the value if it really starts with '>'"),
            "{e}"
        );
        let e = parse_where("id=<5").unwrap_err();
        assert!(matches!(
            e,
            ExprError::ValueStartsWithOperator {
                position: 4,
                ch: '<',
                ..
            }
        ));
        let e = parse_where("id===5").unwrap_err();
        assert!(matches!(
            e,
            ExprError::ValueStartsWithOperator {
                position: 5,
                ch: '=',
                ..
            }
        ));
        let e = parse_where("id = ~x").unwrap_err();
        assert!(matches!(
            e,
            ExprError::ValueStartsWithOperator {
                position: 6,
                ch: '~',
                ..
            }
        ));
    }

    #[test]
    fn error_unterminated_quote() {
        let e = parse_where(r#"time="2015"#).unwrap_err();
        assert_eq!(
            e,
            ExprError::UnterminatedQuote {
                expr: r#"time="2015"#.into(),
                position: 6,
                quote: '"'
            }
        );
        let e = parse_where("x= '").unwrap_err();
        assert!(matches!(
            e,
            ExprError::UnterminatedQuote {
                position: 4,
                quote: '\'',
                ..
            }
        ));
        let e = parse_where(r#"x="abc'"#).unwrap_err();
        assert!(matches!(e, ExprError::UnterminatedQuote { .. }));
    }

    #[test]
    fn error_zero_position() {
        let e = parse_where(" 0=5").unwrap_err();
        assert_eq!(
            e,
            ExprError::ZeroPosition {
                text: " 0=5".into(),
                position: 2
            }
        );
        assert!(e.to_string().contains("1-based"), "{e}");
        let e = parse_where("99999999999999999999999=5").unwrap_err();
        assert!(matches!(e, ExprError::PositionTooLarge { position: 1, .. }));
    }

    #[test]
    fn error_lone_bang() {
        let e = parse_where("id!5").unwrap_err();
        assert_eq!(
            e,
            ExprError::BadOperator {
                expr: "id!5".into(),
                position: 3
            }
        );
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let e = parse_where("données=>5").unwrap_err();
        assert!(
            matches!(e, ExprError::ValueStartsWithOperator { position: 9, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn messages_stay_on_one_line() {
        let e = parse_where("a\nb").unwrap_err();
        assert!(!e.to_string().contains('\n'), "{e}");
        let e = parse_column_list("a,\n,b").unwrap_err();
        assert!(!e.to_string().contains('\n'), "{e}");
    }

    #[test]
    fn column_lists() {
        assert_eq!(
            parse_column_list("id, time ,3").unwrap(),
            vec![name("id"), name("time"), ColumnRef::Index(3)]
        );
        assert_eq!(parse_column_list("x").unwrap(), vec![name("x")]);
        let e = parse_column_list("id,,time").unwrap_err();
        assert_eq!(
            e,
            ExprError::EmptyListItem {
                list: "id,,time".into(),
                position: 4
            }
        );
        assert!(matches!(
            parse_column_list("").unwrap_err(),
            ExprError::EmptyListItem { position: 1, .. }
        ));
        assert!(matches!(
            parse_column_list("a, ").unwrap_err(),
            ExprError::EmptyListItem { position: 4, .. }
        ));
        assert!(matches!(
            parse_column_list("a, 0").unwrap_err(),
            ExprError::ZeroPosition { position: 4, .. }
        ));
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,20}") {
            let _ = parse_where(&text);
            let _ = parse_column_list(&text);
        }

        #[test]
        fn error_positions_are_inside_or_just_past(text in "[ a-c0-9=<>!~\"']{0,12}") {
            if let Err(e) = parse_where(&text) {
                let position = e.position();
                prop_assert!(position >= 1 && position <= text.chars().count() + 1);
            }
        }

        #[test]
        fn null_tests_round_trip(col in "[a-z][a-z_ ]{0,6}[a-z]", not in any::<bool>()) {
            let (op, words) = if not { (Op::IsNotNull, "is not null") } else { (Op::IsNull, "is null") };
            let parsed = parse_where(&format!(" {col}  {words} ")).unwrap();
            prop_assert_eq!(parsed, w(name(&col), op, ""));
        }

        #[test]
        fn round_trips(col in "[a-z][a-z_ ]{0,6}[a-z]", op in 0usize..7, value in "[a-z0-9 :.-]{0,10}") {
            let ops = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Regex];
            let text = format!(" {col} {} \"{value}\" ", ops[op]);
            let parsed = parse_where(&text).unwrap();
            prop_assert_eq!(parsed, w(name(&col), ops[op], &value));
        }
    }
}
