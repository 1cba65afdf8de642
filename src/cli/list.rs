//! `gateproof list` and `gateproof quirks`: what would run, and the bugs the reference can reproduce.

use std::io::{self, Write};

use super::args::ListArgs;
use super::{CliError, Verdict, load_scenarios};
use crate::reference::Quirk;
use crate::scenario::Scenario;

/// One line per quirk: name, upstream issue and description, in aligned columns.
pub(super) fn quirks_table() -> String {
    let name_width = Quirk::ALL.iter().map(|q| q.name().len()).max().unwrap_or(0);
    let upstream_width = Quirk::ALL.iter().map(|q| q.upstream().len()).max().unwrap_or(0);
    Quirk::ALL
        .iter()
        .map(|q| format!("{:<name_width$}  {:<upstream_width$}  {}\n", q.name(), q.upstream(), q.description()))
        .collect()
}

pub(super) fn list(args: &ListArgs) -> Result<Verdict, CliError> {
    let (scenarios, broken_files) = load_scenarios(&args.paths)?;
    let filter = args.filter.to_filter();
    let selected: Vec<&Scenario> = scenarios.iter().filter(|s| filter.selects(&s.tags)).collect();
    let selected = match args.filter.partition {
        Some(partition) => partition.select(selected, |s| s.id.as_str()),
        None => selected,
    };
    let rows: Vec<[String; 4]> = selected
        .iter()
        .map(|s| [s.id.clone(), format!("[{}]", s.tags.join(", ")), s.title.clone(), s.source.display().to_string()])
        .collect();
    let width =
        |column: usize| rows.iter().map(|r| r[column].chars().count()).max().unwrap_or(0).min(MAX_ALIGNED_WIDTH);
    let widths = [width(0), width(1), width(2)];
    let mut out = io::stdout().lock();
    for row in rows {
        let _ = writeln!(out, "{}", list_line(&row, widths));
    }
    Ok(Verdict { broken_files: broken_files.len(), ..Verdict::default() })
}

/// Columns are aligned up to this many characters; a longer cell pushes the rest of its own row only,
/// so one long title does not pad every other line with it.
const MAX_ALIGNED_WIDTH: usize = 100;

/// One row: each of the first three cells padded to its column's width, two spaces apart.
///
/// Padded by hand: `format!`'s `{:<width$}` panics on a width of 65,536 or more.
pub(super) fn list_line(row: &[String; 4], widths: [usize; 3]) -> String {
    let mut line = String::new();
    for (cell, width) in row.iter().zip(widths) {
        line.push_str(cell);
        line.extend(std::iter::repeat_n(' ', width.saturating_sub(cell.chars().count()) + 2));
    }
    line.push_str(&row[3]);
    line
}
