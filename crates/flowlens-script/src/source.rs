//! What a script's source says before it runs: the `// wrapglobals: NAME` header, and the
//! rewrite of Rhino/Nashorn expression closures into standard JavaScript.
//!
//! sFlow-RT's first engines (Rhino, then Nashorn) accepted *expression closures*, a function
//! whose body is one expression without braces or `return`:
//!
//! ```js
//! var keys = flows.map(function(el) el.key);
//! flows.sort(function(a, b) b.value - a.value);
//! ```
//!
//! QuickJS does not, so [`rewrite_expression_closures`] turns each into
//! `function(el) {return el.key}` before the script is evaluated. The rewrite keeps every
//! newline where it was, so error messages name the script's own line numbers.
//!
//! Limits of the rewrite (documented in the README): the body ends at the first `,` or `;`
//! outside brackets, at the bracket that closes the enclosing expression, or at the end of
//! its line when it is not inside brackets (an expression closure whose body continues on the
//! next line without an open bracket is cut there). Strings, template literals without
//! `${…}` nesting of backquotes, comments and regular-expression literals are skipped by a
//! lexer that tells a regular expression from a division by the previous token, as
//! JavaScript's grammar mostly allows; `function` inside such a literal is left alone.

/// The namespace of a `// wrapglobals: NAME` header comment, if the script has one among
/// its leading comment lines (sFlow-RT "Writing Applications": the API's global functions
/// are then reached as `NAME.logInfo(…)`, so a script may define functions of the same names).
pub(crate) fn wrapglobals(src: &str) -> Option<String> {
    for line in src.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let comment = line.strip_prefix("//")?.trim();
        if let Some(rest) = comment.strip_prefix("wrapglobals:") {
            let name = rest.trim();
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
            return valid.then(|| name.to_string());
        }
    }
    None
}

/// `src` with every expression closure `function [name](params) expr` rewritten as
/// `function [name](params) {return expr}`; anything else is unchanged.
pub(crate) fn rewrite_expression_closures(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 16);
    rewrite(&chars, &mut out, 0);
    out
}

/// Deepest nesting of expression closures rewritten (deeper ones are left as written, and
/// QuickJS then reports their syntax error): bounds the rewrite's recursion.
const MAX_DEPTH: usize = 64;

/// Rewrites `s` into `out` (recursively, `depth` deep, for the bodies of expression closures).
fn rewrite(s: &[char], out: &mut String, depth: usize) {
    let mut i = 0;
    let mut prev = Prev::Start;
    while i < s.len() {
        if let Some(end) = skip_literal(s, i, prev) {
            out.extend(s.get(i..end).unwrap_or_default());
            prev = if is_comment(s, i) { prev } else { Prev::Value };
            i = end;
            continue;
        }
        let c = s.get(i).copied().unwrap_or(' ');
        if is_ident_start(c) {
            let start = i;
            while s.get(i).copied().is_some_and(is_ident_part) {
                i += 1;
            }
            let word: String = s.get(start..i).unwrap_or_default().iter().collect();
            out.push_str(&word);
            // `obj.function(…)` is a property call, not a function expression.
            let member = out
                .get(..out.len() - word.len())
                .and_then(|o| o.trim_end().chars().last())
                == Some('.');
            if word == "function" && depth < MAX_DEPTH && !member {
                if let Some(n) = closure_at(s, i, out, depth) {
                    i = n;
                    prev = Prev::Value;
                    continue;
                }
            }
            prev = if matches!(
                word.as_str(),
                "return"
                    | "typeof"
                    | "instanceof"
                    | "in"
                    | "of"
                    | "new"
                    | "delete"
                    | "void"
                    | "throw"
                    | "case"
                    | "do"
                    | "else"
            ) {
                Prev::Operator
            } else {
                Prev::Value
            };
            continue;
        }
        out.push(c);
        if !c.is_whitespace() {
            prev = if matches!(c, ')' | ']' | '}') || c.is_ascii_digit() || c == '.' {
                Prev::Value
            } else {
                Prev::Operator
            };
        }
        i += 1;
    }
}

/// After the word `function` (ending at `i`): when an expression closure follows, writes
/// its rewritten form to `out` and answers where the input continues.
fn closure_at(s: &[char], i: usize, out: &mut String, depth: usize) -> Option<usize> {
    let mut j = skip_space(s, i);
    // An optional name.
    if s.get(j).copied().is_some_and(is_ident_start) {
        while s.get(j).copied().is_some_and(is_ident_part) {
            j += 1;
        }
        j = skip_space(s, j);
    }
    if s.get(j) != Some(&'(') {
        return None;
    }
    let close = matching(s, j)?;
    let body = skip_space(s, close + 1);
    match s.get(body) {
        None | Some('{') => None,
        Some(_) => {
            let end = expression_end(s, body);
            out.extend(s.get(i..body).unwrap_or_default());
            out.push_str("{return ");
            rewrite(s.get(body..end).unwrap_or_default(), out, depth + 1);
            out.push('}');
            Some(end)
        }
    }
}

/// The index of the bracket closing the one at `open`, skipping literals.
fn matching(s: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    let mut prev = Prev::Operator;
    while i < s.len() {
        if let Some(end) = skip_literal(s, i, prev) {
            i = end;
            prev = Prev::Value;
            continue;
        }
        let c = s.get(i).copied()?;
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        if !c.is_whitespace() {
            prev = if matches!(c, ')' | ']' | '}') || c.is_alphanumeric() || c == '_' {
                Prev::Value
            } else {
                Prev::Operator
            };
        }
        i += 1;
    }
    None
}

/// Where the expression starting at `start` ends (exclusive).
fn expression_end(s: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    let mut prev = Prev::Operator;
    while i < s.len() {
        if let Some(end) = skip_literal(s, i, prev) {
            if !is_comment(s, i) {
                prev = Prev::Value;
            } else if depth == 0 && s.get(i + 1) == Some(&'/') {
                return i;
            }
            i = end;
            continue;
        }
        let c = s.get(i).copied().unwrap_or(' ');
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => return i,
            ')' | ']' | '}' => depth -= 1,
            ',' | ';' if depth == 0 => return i,
            '\n' if depth == 0 => return i,
            _ => {}
        }
        if !c.is_whitespace() {
            prev = if matches!(c, ')' | ']' | '}') || c.is_alphanumeric() || c == '_' {
                Prev::Value
            } else {
                Prev::Operator
            };
        }
        i += 1;
    }
    i
}

/// What came before a `/`: a value (so `/` divides) or an operator (so it starts a
/// regular expression).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    Start,
    Value,
    Operator,
}

fn is_comment(s: &[char], i: usize) -> bool {
    s.get(i) == Some(&'/') && matches!(s.get(i + 1), Some('/' | '*'))
}

/// When a string, template, comment or regular expression starts at `i`, where it ends.
fn skip_literal(s: &[char], i: usize, prev: Prev) -> Option<usize> {
    let c = *s.get(i)?;
    match c {
        '\'' | '"' | '`' => {
            let mut j = i + 1;
            while let Some(&d) = s.get(j) {
                if d == '\\' {
                    j += 2;
                    continue;
                }
                j += 1;
                if d == c || (d == '\n' && c != '`') {
                    break;
                }
            }
            Some(j.min(s.len()))
        }
        '/' if s.get(i + 1) == Some(&'/') => {
            let mut j = i + 2;
            while s.get(j).is_some_and(|&d| d != '\n') {
                j += 1;
            }
            Some(j)
        }
        '/' if s.get(i + 1) == Some(&'*') => {
            let mut j = i + 2;
            while j < s.len() && !(s.get(j) == Some(&'*') && s.get(j + 1) == Some(&'/')) {
                j += 1;
            }
            Some((j + 2).min(s.len()))
        }
        '/' if prev != Prev::Value => {
            let mut j = i + 1;
            let mut class = false;
            while let Some(&d) = s.get(j) {
                match d {
                    '\\' => j += 1,
                    '[' => class = true,
                    ']' => class = false,
                    '/' if !class => break,
                    '\n' => return None,
                    _ => {}
                }
                j += 1;
            }
            j += 1;
            while s.get(j).copied().is_some_and(char::is_alphanumeric) {
                j += 1;
            }
            Some(j.min(s.len()))
        }
        _ => None,
    }
}

fn skip_space(s: &[char], mut i: usize) -> usize {
    while s.get(i).copied().is_some_and(char::is_whitespace) {
        i += 1;
    }
    i
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_ident_part(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(s: &str) -> String {
        rewrite_expression_closures(s)
    }

    #[test]
    fn map_and_sort_closures_get_a_body() {
        assert_eq!(
            rw("var k = flows.map(function(el) el.key);"),
            "var k = flows.map(function(el) {return el.key});"
        );
        assert_eq!(
            rw("a.sort(function (x, y) y.value - x.value)"),
            "a.sort(function (x, y) {return y.value - x.value})"
        );
        assert_eq!(
            rw("f(function(x) x[0], 2)"),
            "f(function(x) {return x[0]}, 2)"
        );
    }

    #[test]
    fn named_nested_and_multiline_forms() {
        assert_eq!(
            rw("var f = function sq(x) x * x;\nvar g = 1;"),
            "var f = function sq(x) {return x * x};\nvar g = 1;"
        );
        assert_eq!(
            rw("a.map(function(x) x.map(function(y) y + 1))"),
            "a.map(function(x) {return x.map(function(y) {return y + 1})})"
        );
        assert_eq!(
            rw("a.map(function(x)\n  ({k: x, v: f(x, 1)}))"),
            "a.map(function(x)\n  {return ({k: x, v: f(x, 1)})})"
        );
    }

    #[test]
    fn ordinary_code_strings_comments_and_regexes_are_unchanged() {
        let src = "function f(a) {\n  return a; // function(x) x\n}\nvar s = 'function(x) x';\nvar r = /function(x) x/g; var d = 4 / 2 / 1;\n/* function(y) y */";
        assert_eq!(rw(src), src);
        assert_eq!(
            rw("var f = function () { return 1; };"),
            "var f = function () { return 1; };"
        );
    }

    #[test]
    fn deep_nesting_stops_rewriting_instead_of_overflowing() {
        let mut src = String::new();
        for _ in 0..10_000 {
            src.push_str("f(function(x) ");
        }
        src.push('1');
        for _ in 0..10_000 {
            src.push(')');
        }
        let out = rw(&src);
        assert_eq!(out.matches("{return ").count(), MAX_DEPTH);
    }

    #[test]
    fn lines_keep_their_numbers() {
        let src = "var a = [3,1].sort(function(x,y) x - y);\nundefinedName();\n";
        assert_eq!(rw(src).lines().count(), src.lines().count());
    }

    #[test]
    fn wrapglobals_is_read_from_the_header_comments() {
        assert_eq!(
            wrapglobals("// author: InMon\n// wrapglobals: rt\nrt.logInfo('x');").as_deref(),
            Some("rt")
        );
        assert_eq!(wrapglobals("var a = 1;\n// wrapglobals: rt\n"), None);
        assert_eq!(wrapglobals("// wrapglobals: 9bad\n"), None);
        assert_eq!(wrapglobals("// version: 1.0\n"), None);
    }
}
