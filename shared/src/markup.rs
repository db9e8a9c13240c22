//! Markup (HTML, SVG) that only escaping or literals can build.
//!
//! Where markup is written as text (the worker's SVG timeline; the app's long, control-free
//! tables, where one `innerHTML` beats a thousand reactive rows), [`Markup`] is the only way to
//! build it: its constructors take `&'static str` (text written in the source, never data) or
//! escape what they are given, so a value cannot reach the page unescaped by mistake: it does
//! not compile.

/// Markup under construction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Markup(String);

impl Markup {
    pub fn with_capacity(n: usize) -> Markup {
        Markup(String::with_capacity(n))
    }

    /// Markup written in the source: tags, attribute names, classes.
    pub fn lit(&mut self, markup: &'static str) -> &mut Markup {
        self.0.push_str(markup);
        self
    }

    /// Text or an attribute value (in double quotes), escaped.
    pub fn text(&mut self, text: &str) -> &mut Markup {
        escape_into(&mut self.0, text);
        self
    }

    /// A number.
    pub fn num(&mut self, n: i64) -> &mut Markup {
        self.0.push_str(&n.to_string());
        self
    }

    /// An attribute with a number: ` name="n"`.
    pub fn attr(&mut self, name: &'static str, n: i64) -> &mut Markup {
        self.lit(" ").lit(name).lit("=\"").num(n).lit("\"")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// `text` escaped for XML and HTML text and double- or single-quoted attributes; control
/// characters (which XML forbids) become spaces.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_escaped_and_only_literals_are_not() {
        let mut m = Markup::default();
        m.lit("<td title=\"")
            .text("a\"<b>'&\u{1}")
            .lit("\">")
            .num(-3)
            .lit("</td>");
        assert_eq!(
            m.as_str(),
            "<td title=\"a&quot;&lt;b&gt;&#39;&amp; \">-3</td>"
        );
        assert_eq!(escaped("x<y"), "x&lt;y");
    }
}
