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
    use rstest::rstest;

    use super::first_tag;

    #[rstest]
    #[case::a_standard_tag("a: !!binary aGVsbG8=\n", 3, "!!binary")]
    #[case::a_local_tag_on_a_later_line("a: 1\nb: !custom hello\n", 8, "!custom")]
    #[case::a_verbatim_tag("a: !<tag:x> [1]\n", 3, "!<tag:x>")]
    #[case::a_tag_on_a_mapping("a: !m {b: 1}\n", 3, "!m")]
    #[case::a_tag_before_multibyte_text("- !!str é\n", 2, "!!str")]
    fn finds_the_first_tag_of_any_kind(#[case] text: &str, #[case] offset: usize, #[case] tag: &str) {
        assert_eq!(first_tag(text), Some((offset, tag)));
    }

    #[rstest]
    #[case::quoted_or_inside_plain_text("a: \"!!binary x\"\nb: 'x !y'\nc: x !y\n")]
    #[case::after_a_syntax_error("a: [unclosed\nb: !x y\n")]
    fn text_that_only_looks_like_a_tag_is_not_one(#[case] text: &str) {
        assert_eq!(first_tag(text), None);
    }
}
