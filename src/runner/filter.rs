//! Which scenarios a run selects, by tag.

/// `--tag` (any of) and `--skip-tag` (none of). An empty `tags` selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagFilter {
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
}

impl TagFilter {
    pub fn selects(&self, scenario_tags: &[String]) -> bool {
        let wanted = self.tags.is_empty() || self.tags.iter().any(|t| scenario_tags.contains(t));
        let skipped = self.skip_tags.iter().any(|t| scenario_tags.contains(t));
        wanted && !skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_select_any_of_and_skip_tags_exclude() {
        let filter = |tags: &[&str], skip: &[&str]| TagFilter {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            skip_tags: skip.iter().map(|t| t.to_string()).collect(),
        };
        let scenario = ["org-admin".to_string(), "slow".to_string()];
        let cases = [
            (filter(&[], &[]), true),
            (filter(&["org-admin"], &[]), true),
            (filter(&["mcp", "slow"], &[]), true),
            (filter(&["mcp"], &[]), false),
            (filter(&[], &["slow"]), false),
            (filter(&["org-admin"], &["slow"]), false),
            (filter(&[], &["mcp"]), true),
        ];
        for (f, selected) in cases {
            assert_eq!(f.selects(&scenario), selected, "{f:?}");
        }
        assert!(!filter(&["x"], &[]).selects(&[]));
    }
}
