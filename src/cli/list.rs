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
    let rows: Vec<[String; 4]> = selected
        .iter()
        .map(|s| [s.id.clone(), format!("[{}]", s.tags.join(", ")), s.title.clone(), s.source.display().to_string()])
        .collect();
    let width = |column: usize| rows.iter().map(|r| r[column].chars().count()).max().unwrap_or(0);
    let (id_width, tags_width, title_width) = (width(0), width(1), width(2));
    let mut out = io::stdout().lock();
    for [id, tags, title, file] in rows {
        let _ = writeln!(out, "{id:<id_width$}  {tags:<tags_width$}  {title:<title_width$}  {file}");
    }
    Ok(Verdict { broken_files, ..Verdict::default() })
}
