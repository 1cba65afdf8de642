//! YAML tags: a scenario file uses none.
//!
//! serde-saphyr decodes some (`!!binary` becomes the decoded text) and passes over the rest
//! (`!custom hello` reads as `hello`), so a tag would change or lose meaning without a word. The
//! YAML parser's events are read once before the serde mirror, and the first tag found is an error.

use granit_parser::{Event, Parser};

/// The byte offset and text of the first tag in `text`, if any. A syntax error ends the search
/// silently: the serde mirror reports it with its own message.
pub(super) fn first_tag(text: &str) -> Option<(usize, &str)> {
    for event in Parser::new_from_str(text) {
        let (event, span) = event.ok()?;
        let tagged = match &event {
            Event::Scalar(_, _, _, tag) | Event::SequenceStart(_, _, tag) | Event::MappingStart(_, _, tag) => {
                tag.is_some()
            }
            _ => false,
        };
        if !tagged {
            continue;
        }
        let start = span.tag_start.unwrap_or(span.start);
        let offset = start.byte_offset().unwrap_or_else(|| byte_of_char(text, start.index()));
        let rest = text.get(offset..)?;
        let len =
            rest.find(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}')).unwrap_or(rest.len());
        return Some((offset, &rest[..len.max(1).min(rest.len())]));
    }
    None
}

fn byte_of_char(text: &str, index: usize) -> usize {
    text.char_indices().nth(index).map_or(text.len(), |(b, _)| b)
}

#[cfg(test)]
mod tests {
    use super::first_tag;

    #[test]
    fn finds_the_first_tag_of_any_kind() {
        assert_eq!(first_tag("a: !!binary aGVsbG8=\n"), Some((3, "!!binary")));
        assert_eq!(first_tag("a: 1\nb: !custom hello\n"), Some((8, "!custom")));
        assert_eq!(first_tag("a: !<tag:x> [1]\n"), Some((3, "!<tag:x>")));
        assert_eq!(first_tag("a: !m {b: 1}\n"), Some((3, "!m")));
        assert_eq!(first_tag("- !!str é\n"), Some((2, "!!str")));
    }

    #[test]
    fn text_that_only_looks_like_a_tag_is_not_one() {
        assert_eq!(first_tag("a: \"!!binary x\"\nb: 'x !y'\nc: x !y\n"), None);
        assert_eq!(first_tag("a: [unclosed\nb: !x y\n"), None);
    }
}
