//! Spans, errors and top-level splitting shared by the key-function and filter parsers.

use crate::error::{Error, ExprKind};

/// A byte range `[start, end)` of the text being parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The span without leading and trailing ASCII whitespace.
    pub(crate) fn trim(self, src: &str) -> Span {
        let text = src.get(self.start..self.end).unwrap_or("");
        let lead = text.len() - text.trim_start().len();
        let trail = text.len() - text.trim_end().len();
        if lead == text.len() {
            return Span::new(self.start, self.start);
        }
        Span::new(self.start + lead, self.end - trail)
    }

    pub(crate) fn is_empty(self) -> bool {
        self.start >= self.end
    }
}

/// The text being parsed and which grammar it is, for errors at byte offsets.
#[derive(Clone, Copy)]
pub(crate) struct Src<'a> {
    pub(crate) text: &'a str,
    pub(crate) kind: ExprKind,
}

impl<'a> Src<'a> {
    pub(crate) fn err(&self, offset: usize, reason: impl Into<String>) -> Error {
        Error::syntax(self.kind, self.text, offset, reason)
    }

    pub(crate) fn get(&self, s: Span) -> &'a str {
        self.text.get(s.start..s.end).unwrap_or("")
    }

    pub(crate) fn byte(&self, at: usize) -> Option<u8> {
        self.text.as_bytes().get(at).copied()
    }
}

/// Splits `span` at `sep` where it is outside `[ ]` (key-function nesting). Errors on a `]`
/// without its `[` or a `[` left open, at the offending bracket.
pub(crate) fn split_top(src: &Src<'_>, span: Span, sep: u8) -> Result<Vec<Span>, Error> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut open_at = Vec::new();
    let mut seg_start = span.start;
    for (i, b) in src.get(span).bytes().enumerate() {
        let at = span.start + i;
        match b {
            b'[' => {
                depth += 1;
                open_at.push(at);
            }
            b']' => {
                if depth == 0 {
                    return Err(src.err(at, "unexpected ']' without a matching '['"));
                }
                depth -= 1;
                open_at.pop();
            }
            b if b == sep && depth == 0 => {
                out.push(Span::new(seg_start, at));
                seg_start = at + 1;
            }
            _ => {}
        }
    }
    if let Some(at) = open_at.first() {
        return Err(src.err(*at, "unclosed '[' (expected a matching ']')"));
    }
    out.push(Span::new(seg_start, span.end));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Src<'_> {
        Src {
            text,
            kind: ExprKind::Key,
        }
    }

    #[test]
    fn splits_outside_brackets() {
        let s = src("prefix:[uri:httpurl:path]:/:2");
        let parts: Vec<_> = split_top(&s, Span::new(0, s.text.len()), b':')
            .unwrap()
            .into_iter()
            .map(|p| s.get(p))
            .collect();
        assert_eq!(parts, ["prefix", "[uri:httpurl:path]", "/", "2"]);
    }

    #[test]
    fn bracket_errors_point_at_the_bracket() {
        let s = src("a:[b:c");
        let e = split_top(&s, Span::new(0, 6), b':').unwrap_err();
        assert!(matches!(e, Error::Syntax { offset: 2, .. }));
        let s = src("a:b]:c");
        let e = split_top(&s, Span::new(0, 6), b':').unwrap_err();
        assert!(matches!(e, Error::Syntax { offset: 3, .. }));
    }

    #[test]
    fn trims() {
        let s = "  ab ";
        assert_eq!(Span::new(0, 5).trim(s), Span::new(2, 4));
        assert!(Span::new(0, 2).trim(s).is_empty());
    }
}
