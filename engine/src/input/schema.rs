//! A dataset's columns: how many there are, their names if known, and how user-written
//! columns ([`ColumnRef`]) map to 0-based field indexes.
//!
//! Names come from a header record, `--columns`, or a `fleet.toml` ([`crate::input::descriptor`]);
//! whoever builds the [`Schema`] decides which. [`looks_like_header`] is the guess used when
//! nobody said whether the first record is a header. Resolution errors are written for the
//! person at the terminal: they list the known names and suggest the closest one.

use crate::query::expr::ColumnRef;
use crate::query::number::Decimal;
use crate::text::one_line;

#[derive(Debug, Clone)]
pub struct Schema {
    names: Option<Vec<String>>,
    ncols: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("unknown column '{}'{} (known: {})", one_line(.name), suggestion_text(.suggestion), known_text(.known))]
    UnknownColumn {
        name: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    #[error("column '{}' is ambiguous: it matches {} ignoring case; use the exact name or a position", one_line(.name), known_text(.matches))]
    Ambiguous { name: String, matches: Vec<String> },
    #[error("column {index} is out of range: the data has {ncols} column{}", if *.ncols == 1 { "" } else { "s" })]
    OutOfRange { index: usize, ncols: usize },
    #[error("column '{}' is a name but the data has no header: use a position 1..{ncols}, --columns, or a fleet.toml with columns = [...]", one_line(.name))]
    NoNames { name: String, ncols: usize },
}

/// Long headers would make the "known" list unreadable (and not one line on any terminal).
const MAX_LISTED: usize = 20;

fn suggestion_text(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map_or_else(String::new, |s| {
        format!(": did you mean '{}'?", one_line(s))
    })
}

fn known_text(names: &[String]) -> String {
    let mut out = names
        .iter()
        .take(MAX_LISTED)
        .map(|n| one_line(n))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > MAX_LISTED {
        out.push_str(&format!(", ... ({} more)", names.len() - MAX_LISTED));
    }
    if names.is_empty() {
        out.push_str("none");
    }
    out
}

impl Schema {
    /// `ncols` is ignored when `names` is given: the names decide the column count.
    pub fn new(names: Option<Vec<String>>, ncols: usize) -> Schema {
        let ncols = names.as_ref().map_or(ncols, Vec::len);
        Schema { names, ncols }
    }

    pub fn ncols(&self) -> usize {
        self.ncols
    }

    pub fn names(&self) -> Option<&[String]> {
        self.names.as_deref()
    }

    /// The column's name, or its 1-based position as text when there are no names.
    pub fn display_name(&self, index: usize) -> String {
        match self.names.as_ref().and_then(|n| n.get(index)) {
            Some(name) => name.clone(),
            None => (index + 1).to_string(),
        }
    }

    /// Maps a user's column to a 0-based index. A name matches exactly first, then
    /// ignoring ASCII case when only one column matches that way.
    pub fn resolve(&self, col: &ColumnRef) -> Result<usize, SchemaError> {
        match col {
            ColumnRef::Index(i) => {
                if *i >= 1 && *i <= self.ncols {
                    Ok(*i - 1)
                } else {
                    Err(SchemaError::OutOfRange {
                        index: *i,
                        ncols: self.ncols,
                    })
                }
            }
            ColumnRef::Name(name) => {
                let Some(names) = &self.names else {
                    return Err(SchemaError::NoNames {
                        name: name.clone(),
                        ncols: self.ncols,
                    });
                };
                if let Some(i) = names.iter().position(|n| n == name) {
                    return Ok(i);
                }
                let folded: Vec<usize> = names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.eq_ignore_ascii_case(name))
                    .map(|(i, _)| i)
                    .collect();
                match folded.as_slice() {
                    [i] => Ok(*i),
                    [] => Err(SchemaError::UnknownColumn {
                        name: name.clone(),
                        suggestion: closest(name, names),
                        known: names.clone(),
                    }),
                    many => Err(SchemaError::Ambiguous {
                        name: name.clone(),
                        matches: many.iter().map(|&i| names[i].clone()).collect(),
                    }),
                }
            }
        }
    }

    pub fn resolve_all(&self, cols: &[ColumnRef]) -> Result<Vec<usize>, SchemaError> {
        cols.iter().map(|c| self.resolve(c)).collect()
    }
}

/// The known name most like `name`, if it is close enough that suggesting it helps.
fn closest(name: &str, names: &[String]) -> Option<String> {
    let wanted = name.to_ascii_lowercase();
    names
        .iter()
        .map(|n| {
            let candidate = n.to_ascii_lowercase();
            let similarity = strsim::jaro_winkler(&wanted, &candidate);
            let distance = strsim::levenshtein(&wanted, &candidate);
            (n, similarity, distance)
        })
        .filter(|&(_, similarity, distance)| {
            // Jaro-Winkler catches transpositions and shared prefixes; a small edit
            // distance catches short names where Jaro-Winkler is noisy. Requiring the
            // distance to be less than the name's length avoids "suggesting" anything
            // for a one- or two-letter typo that shares nothing.
            similarity >= 0.8 || (distance <= 2 && distance < wanted.chars().count())
        })
        .max_by(|a, b| {
            a.1.partial_cmp(&b.1)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(b.2.cmp(&a.2))
        })
        .map(|(n, _, _)| n.clone())
}

/// Guesses whether `first` is a header: it has no empty field and no number, and the
/// second record (if any) has a number in at least one column. A file whose records are
/// all text therefore reads as having no header, which loses nothing: the header line is
/// then scanned as data and the user can say `header = true`.
pub fn looks_like_header(first: &[&[u8]], second: Option<&[&[u8]]>) -> bool {
    if first.is_empty() {
        return false;
    }
    let first_is_names = first
        .iter()
        .all(|f| !f.is_empty() && Decimal::parse(f).is_none());
    if !first_is_names {
        return false;
    }
    match second {
        None => true,
        Some(second) => second.iter().any(|f| Decimal::parse(f).is_some()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn taxi() -> Schema {
        Schema::new(
            Some(
                ["id", "time", "lon", "lat", "speed", "heading", "occupied"]
                    .map(String::from)
                    .to_vec(),
            ),
            0,
        )
    }

    fn name(s: &str) -> ColumnRef {
        ColumnRef::Name(s.to_string())
    }

    fn split(line: &str) -> Vec<&[u8]> {
        line.split(',').map(str::as_bytes).collect()
    }

    #[test]
    fn names_decide_ncols() {
        let s = taxi();
        assert_eq!(s.ncols(), 7);
        assert_eq!(s.names().unwrap()[1], "time");
        let bare = Schema::new(None, 4);
        assert_eq!(bare.ncols(), 4);
        assert!(bare.names().is_none());
    }

    #[test]
    fn display_names() {
        assert_eq!(taxi().display_name(4), "speed");
        assert_eq!(Schema::new(None, 4).display_name(0), "1");
        assert_eq!(Schema::new(None, 4).display_name(3), "4");
    }

    #[test]
    fn resolves_names_and_positions() {
        let s = taxi();
        assert_eq!(s.resolve(&name("id")).unwrap(), 0);
        assert_eq!(s.resolve(&name("SPEED")).unwrap(), 4);
        assert_eq!(s.resolve(&ColumnRef::Index(7)).unwrap(), 6);
        assert_eq!(
            s.resolve_all(&[name("lat"), ColumnRef::Index(1), name("Time")])
                .unwrap(),
            vec![3, 0, 1]
        );
        assert_eq!(
            Schema::new(None, 3).resolve(&ColumnRef::Index(3)).unwrap(),
            2
        );
    }

    #[test]
    fn exact_match_beats_case_folding() {
        let s = Schema::new(Some(vec!["ID".into(), "id".into(), "Id".into()]), 0);
        assert_eq!(s.resolve(&name("id")).unwrap(), 1);
        assert_eq!(s.resolve(&name("Id")).unwrap(), 2);
        let e = s.resolve(&name("iD")).unwrap_err();
        assert_eq!(
            e,
            SchemaError::Ambiguous {
                name: "iD".into(),
                matches: vec!["ID".into(), "id".into(), "Id".into()]
            }
        );
    }

    #[test]
    fn unknown_column_suggests() {
        let e = taxi().resolve(&name("spped")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown column 'spped': did you mean 'speed'? \
             (known: id, time, lon, lat, speed, heading, occupied)"
        );
        let e = taxi().resolve(&name("zzzz")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown column 'zzzz' (known: id, time, lon, lat, speed, heading, occupied)"
        );
        let e = taxi().resolve(&name("occupeid")).unwrap_err();
        assert!(e.to_string().contains("did you mean 'occupied'?"), "{e}");
        // A shared prefix is enough even when many letters are missing.
        let e = taxi().resolve(&name("occ")).unwrap_err();
        assert!(e.to_string().contains("did you mean 'occupied'?"), "{e}");
    }

    #[test]
    fn long_known_lists_are_cut() {
        let names: Vec<String> = (0..50).map(|i| format!("c{i}")).collect();
        let e = Schema::new(Some(names), 0)
            .resolve(&name("nothing-like-it"))
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("c19, ... (30 more)"), "{text}");
        assert!(!text.contains("c20"), "{text}");
    }

    #[test]
    fn out_of_range() {
        let e = taxi().resolve(&ColumnRef::Index(12)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column 12 is out of range: the data has 7 columns"
        );
        assert!(Schema::new(None, 3).resolve(&ColumnRef::Index(0)).is_err());
        assert!(Schema::new(None, 3).resolve(&ColumnRef::Index(4)).is_err());
    }

    #[test]
    fn no_names() {
        let e = Schema::new(None, 7).resolve(&name("id")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column 'id' is a name but the data has no header: use a position 1..7, \
             --columns, or a fleet.toml with columns = [...]"
        );
    }

    #[test]
    fn header_detection() {
        // T-Drive taxi GPS: no header.
        let gps1 = split("1,2008-02-02 15:36:08,116.51172,39.92123");
        let gps2 = split("1,2008-02-02 15:46:08,116.51135,39.93883");
        assert!(!looks_like_header(&gps1, Some(&gps2)));
        // NYC trips: a header over numeric data.
        let nyc1 = split("VendorID,tpep_pickup_datetime,passenger_count,trip_distance");
        let nyc2 = split("2,2016-01-01 00:00:00,1,1.10");
        assert!(looks_like_header(&nyc1, Some(&nyc2)));
        // A lone line of names.
        assert!(looks_like_header(&nyc1, None));
        // All text: indistinguishable from data, so not a header.
        let t1 = split("name,city");
        let t2 = split("alice,paris");
        assert!(!looks_like_header(&t1, Some(&t2)));
        // An empty field is not a plausible column name.
        let e1 = split("a,,c");
        assert!(!looks_like_header(&e1, Some(&split("1,2,3"))));
        assert!(!looks_like_header(&[], None));
        // A number-like name is data.
        assert!(!looks_like_header(&split("a,2015"), Some(&split("1,2"))));
        // Non-numbers in the grammar's sense ("e5", "-") still count as names; "1e5" is a
        // number.
        assert!(looks_like_header(&split("e5,-"), Some(&split("x,.5"))));
        assert!(!looks_like_header(&split("1e5,-"), Some(&split("x,.5"))));
    }

    proptest! {
        #[test]
        fn positions_resolve_iff_in_range(ncols in 0usize..20, i in 0usize..25) {
            let r = Schema::new(None, ncols).resolve(&ColumnRef::Index(i));
            prop_assert_eq!(r.is_ok(), i >= 1 && i <= ncols);
            if let Ok(idx) = r {
                prop_assert_eq!(idx, i - 1);
            }
        }

        #[test]
        fn errors_are_one_line(n in "\\PC{0,12}") {
            if let Err(e) = taxi().resolve(&ColumnRef::Name(n)) {
                prop_assert!(!e.to_string().contains('\n'));
            }
        }
    }
}
