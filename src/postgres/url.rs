//! Small, pure edits of `postgres://` URLs: point one at another database, hide its password.
//!
//! Done on the string, keeping every other part (host list, query options such as `sslmode`) as the
//! user wrote it; a parse-and-print round trip could drop or reorder them.

/// Splits `scheme://authority/path?query#fragment` into (`scheme://authority`, path, rest).
fn split(url: &str) -> (&str, &str, &str) {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let after = &url[authority_start..];
    let authority_len = after.find(['/', '?', '#']).unwrap_or(after.len());
    let path_start = authority_start + authority_len;
    let rest_start = url[path_start..].find(['?', '#']).map_or(url.len(), |i| path_start + i);
    (&url[..path_start], &url[path_start..rest_start], &url[rest_start..])
}

/// The same URL with its database (the path) replaced by `database`.
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (base, _, rest) = split(url);
    format!("{base}/{database}{rest}")
}

/// The same URL with any password replaced by `***`, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let (base, path, rest) = split(url);
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority = &base[authority_start..];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    format!("{}{}:***{}{path}{rest}", &base[..authority_start], &userinfo[..colon], &authority[at..])
                }
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() {
        let table = [
            ("postgres://u:p@h:5432/app", "postgres://u:p@h:5432/gp_1"),
            ("postgres://u@h:5432/app?sslmode=require", "postgres://u@h:5432/gp_1?sslmode=require"),
            ("postgres://u@h:5432", "postgres://u@h:5432/gp_1"),
            ("postgres://u@h:5432?sslmode=disable", "postgres://u@h:5432/gp_1?sslmode=disable"),
            ("postgresql://h1:1,h2:2/app#x", "postgresql://h1:1,h2:2/gp_1#x"),
            ("postgres:///app?host=/tmp", "postgres:///gp_1?host=/tmp"),
        ];
        for (input, expected) in table {
            assert_eq!(with_database(input, "gp_1"), expected, "{input}");
        }
    }

    #[test]
    fn redact_hides_the_password_and_nothing_else() {
        let table = [
            ("postgres://u:secret@h:5432/app", "postgres://u:***@h:5432/app"),
            ("postgres://u:p%40ss@h/app?sslmode=require", "postgres://u:***@h/app?sslmode=require"),
            ("postgres://u@h/app", "postgres://u@h/app"),
            ("postgres://h/app", "postgres://h/app"),
        ];
        for (input, expected) in table {
            assert_eq!(redact(input), expected, "{input}");
        }
    }
}
