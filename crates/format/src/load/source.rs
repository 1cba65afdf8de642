//! Where things are in a scenario's text: byte spans of located nodes, and the finer places
//! (a key, a placeholder, a value) an error should point at.
//!
//! serde-saphyr locates nodes by line, column and character offset; miette labels byte ranges. This
//! module converts between them and never slices off a character boundary, so a location from any
//! input yields a valid span.

use serde_saphyr::Spanned;

use crate::model::Location;

/// A byte range in the scenario text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) offset: usize,
    pub(super) len: usize,
}

/// The text of one scenario file.
#[derive(Clone, Copy)]
pub(super) struct Source<'s> {
    pub(super) text: &'s str,
}

impl Source<'_> {
    /// The value written after the key at `key` (`key: value`), if `key` is a key.
    pub(super) fn value_after_key(&self, key: Span) -> Option<Span> {
        let after = self.text.get(key.offset + key.len..)?;
        let colon = after.trim_start_matches(['"', '\'']).strip_prefix(':')?;
        let value = colon.trim_start();
        let offset = self.text.len() - value.len();
        let len = match value.chars().next()? {
            quote @ ('"' | '\'') => value[1..].find(quote).map_or(value.len(), |end| end + 2),
            _ => value.find(['\n', ',', '}', ']', '#']).unwrap_or(value.len()),
        };
        let len = value[..len].trim_end().len();
        (len > 0).then_some(Span { offset, len })
    }

    /// The byte range of a node serde-saphyr located; `None` when it has no location.
    pub(super) fn span(&self, loc: &serde_saphyr::Location) -> Option<Span> {
        if loc.line() == 0 {
            return None;
        }
        let chars = loc.span();
        let offset = match chars.byte_offset() {
            Some(b) => usize::try_from(b).ok()?,
            None => self.byte_of_char(usize::try_from(chars.offset()).ok()?),
        };
        let offset = self.floor_boundary(offset.min(self.text.len()));
        let len = match chars.byte_len() {
            Some(b) => usize::try_from(b).ok()?,
            None => {
                let end_char = usize::try_from(chars.offset() + chars.len()).ok()?;
                self.byte_of_char(end_char).saturating_sub(offset)
            }
        };
        let end = self.floor_boundary((offset + len).min(self.text.len()));
        let len = if end > offset { end - offset } else { self.token_len(offset) };
        Some(Span { offset, len })
    }

    pub(super) fn span_of<T>(&self, node: &Spanned<T>) -> Option<Span> {
        self.span(&node.referenced)
    }

    fn byte_of_char(&self, index: usize) -> usize {
        self.text.char_indices().nth(index).map_or(self.text.len(), |(b, _)| b)
    }

    fn floor_boundary(&self, mut offset: usize) -> usize {
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// Mappings are located at their first key with no length: label that key (up to `:`), not an
    /// empty point.
    fn token_len(&self, offset: usize) -> usize {
        self.text[offset..]
            .find(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | '}' | ']'))
            .unwrap_or(self.text.len() - offset)
    }

    pub(super) fn location_of(&self, offset: usize) -> Location {
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location { line: before.matches('\n').count() + 1, column: before[line_start..].chars().count() + 1 }
    }

    /// The byte offset of a 1-based line and column (in characters), when the text has it.
    pub(super) fn offset_of(&self, at: Location) -> Option<usize> {
        let line_start =
            if at.line <= 1 { 0 } else { self.text.match_indices('\n').nth(at.line - 2).map(|(i, _)| i + 1)? };
        let line = &self.text[line_start..];
        let column = line.char_indices().nth(at.column.checked_sub(1)?).map(|(b, _)| b)?;
        Some(line_start + column)
    }

    pub(super) fn model_location<T>(&self, node: &Spanned<T>) -> Location {
        Location {
            line: usize::try_from(node.referenced.line()).unwrap_or(0),
            column: usize::try_from(node.referenced.column()).unwrap_or(0),
        }
    }

    /// The key `key:` written before `value` within its mapping that starts at `container`, so an
    /// error about a field points at the field's name; falls back to the value.
    pub(super) fn key_span(&self, container: Option<Span>, value: Option<Span>, key: &str) -> Option<Span> {
        let (start, end) = (container?.offset, value?.offset);
        let found = self.text.get(start..end).and_then(|text| {
            text.rmatch_indices(key)
                .find(|(i, _)| text[i + key.len()..].trim_start_matches(['"', '\'']).trim_start().starts_with(':'))
        });
        match found {
            Some((i, _)) => Some(Span { offset: start + i, len: key.len() }),
            None => value,
        }
    }

    /// The placeholder `{{ name }}` at or after `at` (within it when `bounded`), else `at` itself.
    pub(super) fn placeholder_span(&self, at: Option<Span>, name: &str, bounded: bool) -> Option<Span> {
        let at = at?;
        let end = if bounded { at.offset + at.len } else { self.text.len() };
        let text = self.text.get(at.offset..end)?;
        let mut from = 0;
        while let Some(open) = text[from..].find("{{").map(|i| from + i) {
            let Some(close) = text[open + 2..].find("}}").map(|i| open + 2 + i) else {
                break;
            };
            if text[open + 2..close].trim() == name {
                return Some(Span { offset: at.offset + open, len: close + 2 - open });
            }
            from = open + 2;
        }
        Some(at)
    }

    /// The first occurrence of `text` at or after `at`, else `at`.
    pub(super) fn find_after(&self, at: Option<Span>, text: &str) -> Option<Span> {
        let start = at?.offset;
        match self.text.get(start..).and_then(|rest| rest.find(text)) {
            Some(i) if !text.is_empty() => Some(Span { offset: start + i, len: text.len() }),
            _ => at,
        }
    }
}
