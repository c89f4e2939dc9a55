//! Request bodies of the REST API (`PUT /flow/{name}/json`, `/threshold/…`, `/group/…`,
//! app requests): JSON, or the JavaScript-object syntax sFlow-RT's documentation and users
//! write (`{keys:'ipsource', value:'bytes'}`), parsed as JSON5.
//!
//! Moved here from the `flowlens` binary so the fuzz targets can reach it: it is pure (bytes
//! in, a JSON value or a one-line reason out) and every body a client sends goes through it.

use serde_json::Value as Json;

/// Deepest `[ ]`/`{ }` nesting of a request body. The JSON5 parser recurses per level, so a
/// body of a million `[` would overflow the stack; real definitions nest two or three levels.
pub const MAX_BODY_NESTING: usize = 32;

/// Why a body was refused: a one-line reason for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError(String);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BodyError {}

/// Parses a request body: JSON or JavaScript-object syntax. Refuses bodies that are not UTF-8,
/// empty, nested deeper than [`MAX_BODY_NESTING`], or not JSON5.
pub fn parse(body: &[u8]) -> Result<Json, BodyError> {
    let text = std::str::from_utf8(body).map_err(|_| BodyError("body is not UTF-8".into()))?;
    if text.trim().is_empty() {
        return Err(BodyError(
            "empty body: expected a JSON or JavaScript object".into(),
        ));
    }
    if nesting(text) > MAX_BODY_NESTING {
        return Err(BodyError(format!(
            "body nested deeper than {MAX_BODY_NESTING} levels"
        )));
    }
    json5::from_str::<Json>(text).map_err(|e| {
        let e = e.to_string();
        BodyError(format!(
            "body is not a JSON or JavaScript object: {}",
            e.lines().next().unwrap_or_default()
        ))
    })
}

/// The deepest `[ ]`/`{ }` nesting of a JSON5 text, outside strings (`"…"` or `'…'`, with
/// backslash escapes).
pub fn nesting(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_object_syntax_and_limits() {
        let v = parse(b"{keys:'icmpunreachableport', value:'frames', t:20}").unwrap();
        assert_eq!(v["keys"], "icmpunreachableport");
        assert_eq!(v["t"], 20);
        assert!(parse(b"{keys:")
            .unwrap_err()
            .to_string()
            .starts_with("body is not a JSON or JavaScript object: "));
        assert_eq!(
            parse(b"  ").unwrap_err().to_string(),
            "empty body: expected a JSON or JavaScript object"
        );
        assert_eq!(parse(b"\xff").unwrap_err().to_string(), "body is not UTF-8");
        assert_eq!(nesting("{a:['x]]]', \"{{\\\"\"], b:{c:1}}"), 2);
        let deep = format!("{{a:{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse(deep.as_bytes()).unwrap_err().to_string(),
            "body nested deeper than 32 levels"
        );
    }
}
