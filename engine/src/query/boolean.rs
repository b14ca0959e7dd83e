//! The syntax of a whole `--where`: comparisons ([`crate::query::expr::parse_where`]) and set
//! tests (`COLUMN in (1, 2, 3)`, `COLUMN in @ids.txt`, `COLUMN not in ...`) joined by `and`,
//! `or`, `not` and parentheses, plus `COLUMN !~ REGEX` for "does not match".
//!
//! ```text
//! or    := and ('or' and)*
//! and   := unary ('and' unary)*
//! unary := 'not' unary | '(' or ')' | atom
//! atom  := COLUMN OP VALUE | COLUMN !~ VALUE | COLUMN is [not] null
//!        | COLUMN [not] in '(' VALUE (',' VALUE)* ')' | COLUMN [not] in @FILE
//! ```
//!
//! Keywords are whole words in any case. Column names and unquoted values may hold spaces, as
//! before: a value runs to the end, to a parenthesis that closes a group (parentheses inside
//! a value, as in a regex `^(ab|cd)$`, are kept when they balance), or to a word `and` / `or`
//! on its own; a value holding those must be quoted. `not` is negation when a condition
//! follows it (`not (a=1)`, `not a=1`), so a column named `not` (`not is null`) still works.
//! A text without any of these reads exactly as one comparison did before.
//!
//! Syntax only, like [`crate::query::expr`]: columns stay [`ColumnRef`]s and `@FILE` a path
//! until [`crate::query::condition`] compiles the tree. Errors name the whole text and a
//! 1-based character position in it.

use crate::query::expr::{char_pos, parse_column, parse_where, ColumnRef, ExprError, WhereExpr};

/// A parsed `--where`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// One comparison; `position` is where its column starts (1-based characters).
    Compare {
        expr: WhereExpr,
        position: usize,
    },
    /// `COLUMN in (...)` / `COLUMN in @FILE` (`not in` is `Not` of this).
    In {
        column: ColumnRef,
        set: SetSource,
        position: usize,
    },
    Not(Box<Expr>),
    /// At least two.
    And(Vec<Expr>),
    /// At least two.
    Or(Vec<Expr>),
}

/// Where the values of an `in` come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetSource {
    /// The values as written (unquoted), at least one.
    List(Vec<String>),
    /// `@FILE`: one value per line, read when the expression is compiled.
    File(String),
}

/// Parses a whole `--where` (see the module docs).
pub fn parse_filter(text: &str) -> Result<Expr, ExprError> {
    let mut p = Parser { text, pos: 0 };
    let expr = p.or()?;
    p.skip_ws();
    if p.pos < text.len() {
        let what = if p.peek() == Some(')') {
            "')' closes no '('"
        } else {
            "expected 'and', 'or' or the end"
        };
        return Err(p.error(p.pos, what));
    }
    Ok(expr)
}

struct Parser<'a> {
    text: &'a str,
    /// Byte offset of the next unread character.
    pos: usize,
}

const OPERATOR_CHARS: &[char] = &['<', '>', '=', '!', '~'];

impl<'a> Parser<'a> {
    fn error(&self, at: usize, what: &str) -> ExprError {
        ExprError::Syntax {
            expr: self.text.to_string(),
            position: char_pos(self.text, at),
            what: what.to_string(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut items = vec![self.and()?];
        loop {
            self.skip_ws();
            if !keyword_at(self.text, self.pos, "or") {
                break;
            }
            self.pos += 2;
            items.push(self.and()?);
        }
        Ok(joined(items, Expr::Or))
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut items = vec![self.unary()?];
        loop {
            self.skip_ws();
            if !keyword_at(self.text, self.pos, "and") {
                break;
            }
            self.pos += 3;
            items.push(self.unary()?);
        }
        Ok(joined(items, Expr::And))
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        self.skip_ws();
        match self.peek() {
            None => return Err(self.error(self.pos, "expected a condition")),
            Some('(') => {
                let open = self.pos;
                self.pos += 1;
                let inner = self.or()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.error(open, "this '(' is never closed"));
                }
                self.pos += 1;
                return Ok(inner);
            }
            Some(')') => return Err(self.error(self.pos, "expected a condition before ')'")),
            Some(_) => {}
        }
        if keyword_at(self.text, self.pos, "and") || keyword_at(self.text, self.pos, "or") {
            return Err(self.error(self.pos, "expected a condition"));
        }
        if keyword_at(self.text, self.pos, "not") && self.negation_follows(self.pos + 3) {
            self.pos += 3;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.atom()
    }

    /// Whether the `not` ending at `after` negates what follows, rather than being a column
    /// named `not` (`not = 5`, `not is null`, `not in (...)`).
    fn negation_follows(&self, after: usize) -> bool {
        let rest = &self.text[after..];
        let next = rest.trim_start();
        let at = after + rest.len() - next.len();
        match next.chars().next() {
            None => false,
            Some('(') => true,
            Some(c) if OPERATOR_CHARS.contains(&c) => false,
            Some(_) => !(keyword_at(self.text, at, "is") || keyword_at(self.text, at, "in")),
        }
    }

    /// One comparison, null test or set test, starting at `self.pos`.
    fn atom(&mut self) -> Result<Expr, ExprError> {
        let start = self.pos;
        let text = self.text;
        let mut i = start;
        // Parentheses in a column name (`speed (km/h)`) that balance are part of it.
        let mut depth = 0usize;
        while i < text.len() {
            let c = text[i..].chars().next().unwrap_or(' ');
            let column_so_far = !text[start..i].trim().is_empty();
            let after_space = text[..i].ends_with(char::is_whitespace);
            if OPERATOR_CHARS.contains(&c) {
                return self.comparison(start, i);
            }
            if column_so_far && after_space {
                if keyword_at(text, i, "is") {
                    if let Some(end) = null_words_end(text, i + 2) {
                        return self.comparison_text(start, end, None);
                    }
                }
                if keyword_at(text, i, "in") && set_follows(text, i + 2) {
                    return self.set(start, i, i + 2, false);
                }
                if keyword_at(text, i, "not") {
                    let rest = &text[i + 3..];
                    let at = i + 3 + rest.len() - rest.trim_start().len();
                    if at > i + 3 && keyword_at(text, at, "in") && set_follows(text, at + 2) {
                        return self.set(start, i, at + 2, true);
                    }
                }
                if keyword_at(text, i, "and") || keyword_at(text, i, "or") {
                    break;
                }
            }
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => break,
                ')' => depth -= 1,
                _ => {}
            }
            i += c.len_utf8();
        }
        // No operator: the single-comparison parser says what it expected, and where.
        self.comparison_text(start, i, None)
    }

    /// `COLUMN OP VALUE` with the operator at `op_at`.
    fn comparison(&mut self, start: usize, op_at: usize) -> Result<Expr, ExprError> {
        let text = self.text;
        let negated_regex = text[op_at..].starts_with("!~");
        let op_len = if negated_regex {
            2
        } else {
            ["==", "!=", "<=", ">=", "=", "<", ">", "~"]
                .iter()
                .find(|op| text[op_at..].starts_with(**op))
                .map_or(1, |op| op.len())
        };
        let end = value_end(text, op_at + op_len);
        self.comparison_text(start, end, negated_regex.then_some(op_at))
    }

    /// Parses `text[start..end]` as one comparison; `negated_regex` is where a `!~` sits in
    /// it (parsed as `~`, then negated).
    fn comparison_text(
        &mut self,
        start: usize,
        end: usize,
        negated_regex: Option<usize>,
    ) -> Result<Expr, ExprError> {
        let atom = &self.text[start..end];
        let parsed = match negated_regex {
            Some(at) => {
                let cut = at - start;
                parse_where(&format!("{}{}", &atom[..cut], &atom[cut + 1..]))
            }
            None => parse_where(atom),
        };
        let shift = char_pos(self.text, start) - 1;
        let expr = parsed.map_err(|e| {
            let after_bang = negated_regex.map(|at| char_pos(self.text, at) - shift);
            relocate(e, self.text, shift, after_bang)
        })?;
        self.pos = end;
        let column_at = start + (atom.len() - atom.trim_start().len());
        let leaf = Expr::Compare {
            expr,
            position: char_pos(self.text, column_at),
        };
        Ok(match negated_regex {
            Some(_) => Expr::Not(Box::new(leaf)),
            None => leaf,
        })
    }

    /// `COLUMN in ...` with the column in `text[start..column_end]` and the set from `from`.
    fn set(
        &mut self,
        start: usize,
        column_end: usize,
        from: usize,
        negated: bool,
    ) -> Result<Expr, ExprError> {
        let text = self.text;
        let column_text = text[start..column_end].trim();
        let column_at = start + (text[start..].len() - text[start..].trim_start().len());
        let column = parse_column(column_text, text, column_at)?;
        self.pos = from;
        self.skip_ws();
        let set = match self.peek() {
            Some('(') => SetSource::List(self.list()?),
            Some('@') => {
                self.pos += 1;
                let path = self.word_or_quoted()?;
                if path.is_empty() {
                    return Err(self.error(self.pos, "expected a file name after '@'"));
                }
                SetSource::File(path)
            }
            _ => {
                return Err(self.error(
                    self.pos,
                    "expected '(' and a list of values, or @FILE, after 'in'",
                ))
            }
        };
        let leaf = Expr::In {
            column,
            set,
            position: char_pos(text, column_at),
        };
        Ok(if negated {
            Expr::Not(Box::new(leaf))
        } else {
            leaf
        })
    }

    /// `(v1, v2, ...)` from the `(` at `self.pos`.
    fn list(&mut self) -> Result<Vec<String>, ExprError> {
        let open = self.pos;
        self.pos += 1;
        let mut values = Vec::new();
        loop {
            self.skip_ws();
            let item_at = self.pos;
            let value = match self.peek() {
                Some(q @ ('"' | '\'')) => self.quoted(q)?,
                Some(_) => {
                    let rest = &self.text[self.pos..];
                    let len = rest.find([',', ')']).unwrap_or(rest.len());
                    self.pos += len;
                    rest[..len].trim().to_string()
                }
                None => String::new(),
            };
            self.skip_ws();
            match self.peek() {
                Some(',') | Some(')')
                    if value.is_empty() && self.text[item_at..self.pos].trim().is_empty() =>
                {
                    return Err(self.error(item_at, "expected a value in the list"));
                }
                Some(',') => {
                    values.push(value);
                    self.pos += 1;
                }
                Some(')') => {
                    values.push(value);
                    self.pos += 1;
                    return Ok(values);
                }
                Some(_) => return Err(self.error(self.pos, "expected ',' or ')' in the list")),
                None => return Err(self.error(open, "this '(' is never closed")),
            }
        }
    }

    /// A quoted string from the quote `q` at `self.pos`, unquoted.
    fn quoted(&mut self, q: char) -> Result<String, ExprError> {
        let open = self.pos;
        let body = &self.text[open + 1..];
        match body.find(q) {
            Some(len) => {
                self.pos = open + 1 + len + 1;
                Ok(body[..len].to_string())
            }
            None => Err(ExprError::UnterminatedQuote {
                expr: self.text.to_string(),
                position: char_pos(self.text, open),
                quote: q,
            }),
        }
    }

    /// A quoted string, or the text up to whitespace or a `)`.
    fn word_or_quoted(&mut self) -> Result<String, ExprError> {
        match self.peek() {
            Some(q @ ('"' | '\'')) => self.quoted(q),
            _ => {
                let rest = &self.text[self.pos..];
                let len = rest
                    .find(|c: char| c.is_whitespace() || c == ')')
                    .unwrap_or(rest.len());
                self.pos += len;
                Ok(rest[..len].to_string())
            }
        }
    }
}

/// One item as itself, several joined by `make`, nested joins of the same kind flattened.
fn joined(items: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        return items.into_iter().next().unwrap_or(Expr::And(Vec::new()));
    }
    let mut flat = Vec::new();
    for item in items {
        match (make(Vec::new()), item) {
            (Expr::And(_), Expr::And(inner)) | (Expr::Or(_), Expr::Or(inner)) => flat.extend(inner),
            (_, item) => flat.push(item),
        }
    }
    make(flat)
}

/// Whether the keyword `word` (any case) starts at byte `at` as a word of its own: after the
/// start, whitespace or a parenthesis, and before the end, whitespace or a parenthesis.
fn keyword_at(text: &str, at: usize, word: &str) -> bool {
    let Some(found) = text.get(at..at + word.len()) else {
        return false;
    };
    let before_ok = text[..at]
        .chars()
        .next_back()
        .is_none_or(|c| c.is_whitespace() || c == '(' || c == ')');
    let after_ok = text[at + word.len()..]
        .chars()
        .next()
        .is_none_or(|c| c.is_whitespace() || c == '(' || c == ')');
    found.eq_ignore_ascii_case(word) && before_ok && after_ok
}

/// Whether the `in` ending at `from` starts a set: a list or a file follows, or one last
/// word without an operator (`id in 5`, reported as a malformed set). Otherwise it is part of
/// a column name (`check in = 5`, `log in time is null`).
fn set_follows(text: &str, from: usize) -> bool {
    let rest = text[from..].trim();
    rest.starts_with(['(', '@'])
        || !(rest.contains(OPERATOR_CHARS) || rest.contains(char::is_whitespace))
}

/// After `is` at `from`: the end of `null` or `not null`, when those words follow.
fn null_words_end(text: &str, from: usize) -> Option<usize> {
    let skip = |at: usize| at + (text[at..].len() - text[at..].trim_start().len());
    let at = skip(from);
    if at == from {
        return None;
    }
    if keyword_at(text, at, "null") {
        return Some(at + 4);
    }
    if keyword_at(text, at, "not") {
        let next = skip(at + 3);
        if next > at + 3 && keyword_at(text, next, "null") {
            return Some(next + 4);
        }
    }
    None
}

/// Where the value starting at `from` ends (see the module docs): a quoted value at its
/// closing quote when only a keyword, a `)` or the end follows; an unquoted one at a word
/// `and` / `or`, at a `)` that closes nothing inside it, or at the end.
fn value_end(text: &str, from: usize) -> usize {
    let rest = &text[from..];
    let lead = from + (rest.len() - rest.trim_start().len());
    let ends_here = |at: usize| {
        let tail = &text[at..];
        let next = at + (tail.len() - tail.trim_start().len());
        next == text.len()
            || text[next..].starts_with(')')
            || (next > at && (keyword_at(text, next, "and") || keyword_at(text, next, "or")))
    };
    if let Some(q @ ('"' | '\'')) = text[lead..].chars().next() {
        let mut at = lead + 1;
        while let Some(len) = text[at..].find(q) {
            let close = at + len + 1;
            if ends_here(close) {
                return close;
            }
            at = close;
        }
        return text.len();
    }
    let mut depth = 0usize;
    let mut i = lead;
    while i < text.len() {
        let c = text[i..].chars().next().unwrap_or(' ');
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return i,
            ')' => depth -= 1,
            c if c.is_whitespace() && depth == 0 && i > lead && {
                let tail = &text[i..];
                let next = i + (tail.len() - tail.trim_start().len());
                keyword_at(text, next, "and") || keyword_at(text, next, "or")
            } =>
            {
                return i;
            }
            _ => {}
        }
        i += c.len_utf8();
    }
    text.len()
}

/// An error from parsing the atom that starts `shift` characters into `whole`, moved to
/// `whole`'s positions; `after_bang` (atom position of a `!~`'s `~`) shifts positions past
/// it by the `!` removed before parsing.
fn relocate(e: ExprError, whole: &str, shift: usize, after_bang: Option<usize>) -> ExprError {
    let at = |p: usize| {
        let p = match after_bang {
            Some(bang) if p > bang => p + 1,
            _ => p,
        };
        p + shift
    };
    let expr = whole.to_string();
    match e {
        ExprError::NoOperator { position, .. } => ExprError::NoOperator {
            expr,
            position: at(position),
        },
        ExprError::EmptyColumn { position, op, .. } => ExprError::EmptyColumn {
            expr,
            position: at(position),
            op,
        },
        ExprError::BadOperator { position, .. } => ExprError::BadOperator {
            expr,
            position: at(position),
        },
        ExprError::ValueStartsWithOperator { position, ch, .. } => {
            ExprError::ValueStartsWithOperator {
                expr,
                position: at(position),
                ch,
            }
        }
        ExprError::UnterminatedQuote {
            position, quote, ..
        } => ExprError::UnterminatedQuote {
            expr,
            position: at(position),
            quote,
        },
        ExprError::ZeroPosition { position, .. } => ExprError::ZeroPosition {
            text: expr,
            position: at(position),
        },
        ExprError::PositionTooLarge { position, .. } => ExprError::PositionTooLarge {
            text: expr,
            position: at(position),
        },
        ExprError::EmptyListItem { position, .. } => ExprError::EmptyListItem {
            list: expr,
            position: at(position),
        },
        ExprError::Syntax { position, what, .. } => ExprError::Syntax {
            expr,
            position: at(position),
            what,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::query::expr::Op;
    use proptest::prelude::*;

    fn cmp(col: &str, op: Op, value: &str, position: usize) -> Expr {
        let column = match col.parse::<usize>() {
            Ok(n) => ColumnRef::Index(n),
            Err(_) => ColumnRef::Name(col.to_string()),
        };
        Expr::Compare {
            expr: WhereExpr {
                column,
                op,
                value: value.to_string(),
            },
            position,
        }
    }

    fn list(col: &str, values: &[&str], position: usize) -> Expr {
        Expr::In {
            column: ColumnRef::Name(col.to_string()),
            set: SetSource::List(values.iter().map(|v| v.to_string()).collect()),
            position,
        }
    }

    fn not(e: Expr) -> Expr {
        Expr::Not(Box::new(e))
    }

    fn position(e: ExprError) -> usize {
        e.position()
    }

    #[test]
    fn single_comparisons_read_as_before() {
        for text in [
            "id=11865",
            "  id  >=  11865  ",
            "pickup time = x y",
            r#"time>="2015-02-01 08:00:00""#,
            "name~^A.*[0-9]$",
            "name~^(ab|cd)$",
            "x=it's",
            r#"x="it's""#,
            "note=is null",
            "arr_delay is null",
            "  dep time  IS   NOT\tNull ",
            "is is null",
            "not is not null",
            "name=",
            "not = 5",
            "check in = 5",
            "speed (km/h)>100",
            "log in time is null",
        ] {
            let Expr::Compare { expr, .. } = parse_filter(text).unwrap() else {
                panic!("{text}: not one comparison");
            };
            assert_eq!(expr, parse_where(text).unwrap(), "{text}");
        }
    }

    #[test]
    fn boolean_structure() {
        assert_eq!(
            parse_filter("id=11865 or id=20001").unwrap(),
            Expr::Or(vec![
                cmp("id", Op::Eq, "11865", 1),
                cmp("id", Op::Eq, "20001", 13)
            ])
        );
        assert_eq!(
            parse_filter("not (occupied=1 and speed=0)").unwrap(),
            not(Expr::And(vec![
                cmp("occupied", Op::Eq, "1", 6),
                cmp("speed", Op::Eq, "0", 21)
            ]))
        );
        // and binds tighter than or; chains flatten.
        assert_eq!(
            parse_filter("a=1 OR b=2 AND c=3 or d=4").unwrap(),
            Expr::Or(vec![
                cmp("a", Op::Eq, "1", 1),
                Expr::And(vec![cmp("b", Op::Eq, "2", 8), cmp("c", Op::Eq, "3", 16)]),
                cmp("d", Op::Eq, "4", 23),
            ])
        );
        assert_eq!(
            parse_filter("((a=1))and(b=2)").unwrap(),
            Expr::And(vec![cmp("a", Op::Eq, "1", 3), cmp("b", Op::Eq, "2", 12)])
        );
        assert_eq!(
            parse_filter("not not a=1").unwrap(),
            not(not(cmp("a", Op::Eq, "1", 9)))
        );
        assert_eq!(
            parse_filter("name !~ ^A").unwrap(),
            not(cmp("name", Op::Regex, "^A", 1))
        );
        assert_eq!(
            parse_filter("a=1 and (name~^(x|y)$ or b is null)").unwrap(),
            Expr::And(vec![
                cmp("a", Op::Eq, "1", 1),
                Expr::Or(vec![
                    cmp("name", Op::Regex, "^(x|y)$", 10),
                    cmp("b", Op::IsNull, "", 26)
                ])
            ])
        );
        // Quoted values hold the keywords.
        assert_eq!(
            parse_filter("name='Tom and Jerry' or name = \"a or b\"").unwrap(),
            Expr::Or(vec![
                cmp("name", Op::Eq, "Tom and Jerry", 1),
                cmp("name", Op::Eq, "a or b", 25)
            ])
        );
        // Words that only contain the keywords are not keywords.
        assert_eq!(
            parse_filter("brand=organic or x=andy").unwrap(),
            Expr::Or(vec![
                cmp("brand", Op::Eq, "organic", 1),
                cmp("x", Op::Eq, "andy", 18)
            ])
        );
    }

    #[test]
    fn sets() {
        assert_eq!(
            parse_filter("id in (11865, 20001, 31337)").unwrap(),
            list("id", &["11865", "20001", "31337"], 1)
        );
        assert_eq!(
            parse_filter("name IN ('a, b', \"c)\" ,d e)").unwrap(),
            list("name", &["a, b", "c)", "d e"], 1)
        );
        assert_eq!(
            parse_filter("id not in (1) or id in @taxis.txt").unwrap(),
            Expr::Or(vec![
                not(list("id", &["1"], 1)),
                Expr::In {
                    column: ColumnRef::Name("id".into()),
                    set: SetSource::File("taxis.txt".into()),
                    position: 18
                }
            ])
        );
        assert_eq!(
            parse_filter("(pickup id in @'my ids.txt')").unwrap(),
            Expr::In {
                column: ColumnRef::Name("pickup id".into()),
                set: SetSource::File("my ids.txt".into()),
                position: 2
            }
        );
        assert_eq!(
            parse_filter("3 in (x)").unwrap(),
            Expr::In {
                column: ColumnRef::Index(3),
                set: SetSource::List(vec!["x".into()]),
                position: 1
            }
        );
    }

    #[test]
    fn errors_name_the_place() {
        let cases = [
            ("(id=1 or id=2", 1, "never closed"),
            ("id=1)", 5, "closes no '('"),
            ("id=1 or", 8, "expected a condition"),
            ("id=1 and and id=2", 10, "expected a condition"),
            ("id in 5", 7, "after 'in'"),
            ("id in (1, , 2)", 11, "expected a value"),
            ("id in ()", 8, "expected a value"),
            ("id in (1, 2", 7, "never closed"),
            ("id in (1 2) x", 13, "expected 'and', 'or' or the end"),
            ("id in @", 8, "file name"),
            ("(a=1) b=2", 7, "expected 'and', 'or' or the end"),
            ("()", 2, "before ')'"),
        ];
        for (text, at, what) in cases {
            let e = parse_filter(text).unwrap_err();
            let shown = e.to_string();
            assert!(shown.contains(what), "{text}: {shown}");
            assert!(shown.contains(&format!("'{text}'")), "{text}: {shown}");
            assert_eq!(position(e), at, "{text}: {shown}");
        }
        // The single-comparison errors, moved to the whole text.
        let e = parse_filter("a=1 or id 11865").unwrap_err();
        assert!(
            matches!(e, ExprError::NoOperator { position: 10, .. }),
            "{e:?}"
        );
        let e = parse_filter("a=1 or id=>5").unwrap_err();
        assert!(
            matches!(e, ExprError::ValueStartsWithOperator { position: 11, .. }),
            "{e:?}"
        );
        let e = parse_filter("a=1 or x !~ >5").unwrap_err();
        assert!(
            matches!(e, ExprError::ValueStartsWithOperator { position: 13, .. }),
            "{e:?}"
        );
        let e = parse_filter("a=1 and 0 in (1)").unwrap_err();
        assert!(
            matches!(e, ExprError::ZeroPosition { position: 9, .. }),
            "{e:?}"
        );
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,24}") {
            let _ = parse_filter(&text);
        }

        #[test]
        fn error_positions_are_inside_or_just_past(
            text in "[ a-c0-9=<>!~\"'()@,]{0,8}( (and|or|not|in) [ a-c0-9=<>!~\"'()@,]{0,8}){0,2}"
        ) {
            if let Err(e) = parse_filter(&text) {
                let p = position(e);
                prop_assert!(p >= 1 && p <= text.chars().count() + 1, "{} at {}", text, p);
            }
        }

        /// A tree printed with full parentheses parses back to itself.
        #[test]
        fn printed_trees_parse_back(tree in tree_strategy()) {
            let text = print(&tree);
            let parsed = parse_filter(&text).unwrap();
            prop_assert_eq!(strip(&parsed), strip(&tree), "{}", text);
        }
    }

    fn tree_strategy() -> impl Strategy<Value = Expr> {
        let leaf = prop_oneof![
            ("[a-d]", 0usize..6, "[a-z0-9]{1,4}").prop_map(|(c, op, v)| {
                let ops = [Op::Eq, Op::Ne, Op::Lt, Op::Ge, Op::Regex, Op::Gt];
                cmp(&c, ops[op], &v, 0)
            }),
            ("[a-d]", proptest::collection::vec("[a-z0-9]{1,3}", 1..4)).prop_map(|(c, vs)| {
                list(&c, &vs.iter().map(String::as_str).collect::<Vec<_>>(), 0)
            }),
        ];
        leaf.prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(not),
                proptest::collection::vec(inner.clone(), 2..4).prop_map(|v| joined(v, Expr::And)),
                proptest::collection::vec(inner, 2..4).prop_map(|v| joined(v, Expr::Or)),
            ]
        })
    }

    fn print(e: &Expr) -> String {
        match e {
            Expr::Compare { expr, .. } => format!("{} {} {}", expr.column, expr.op, expr.value),
            Expr::In {
                column,
                set: SetSource::List(vs),
                ..
            } => format!("{column} in ({})", vs.join(", ")),
            Expr::In {
                column,
                set: SetSource::File(f),
                ..
            } => format!("{column} in @{f}"),
            Expr::Not(inner) => format!("not ({})", print(inner)),
            Expr::And(items) => items
                .iter()
                .map(|i| format!("({})", print(i)))
                .collect::<Vec<_>>()
                .join(" and "),
            Expr::Or(items) => items
                .iter()
                .map(|i| format!("({})", print(i)))
                .collect::<Vec<_>>()
                .join(" or "),
        }
    }

    /// The tree without positions.
    fn strip(e: &Expr) -> Expr {
        match e {
            Expr::Compare { expr, .. } => Expr::Compare {
                expr: expr.clone(),
                position: 0,
            },
            Expr::In { column, set, .. } => Expr::In {
                column: column.clone(),
                set: set.clone(),
                position: 0,
            },
            Expr::Not(inner) => not(strip(inner)),
            Expr::And(items) => Expr::And(items.iter().map(strip).collect()),
            Expr::Or(items) => Expr::Or(items.iter().map(strip).collect()),
        }
    }
}
