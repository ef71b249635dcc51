//! YAML (compose files, CI workflows) as a small owned tree whose every node
//! knows its line: evidence names `file:line`, and the parser (saphyr) keeps
//! positions only in its borrowed, generic tree.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// A YAML node with the 1-based line where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Every scalar as its text: `80` and `"80"` alike, `true` as `true`.
    Scalar(String),
    Null,
    Seq(Vec<Node>),
    /// Keys in file order, with the key's line in the value node's stead
    /// when the value starts on a later line (a block mapping or list).
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The first document of `text`; None when it is not YAML.
    pub fn parse(text: &str) -> Option<Node> {
        let docs = MarkedYaml::load_from_str(text).ok()?;
        docs.first().map(convert)
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }
}

fn convert(node: &MarkedYaml) -> Node {
    let line = node.span.start.line();
    let value = match &node.data {
        YamlData::Value(Scalar::Null) => Value::Null,
        YamlData::Value(Scalar::String(s)) => Value::Scalar(s.to_string()),
        YamlData::Value(Scalar::Integer(n)) => Value::Scalar(n.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Value::Scalar(b.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Value::Scalar(f.to_string()),
        YamlData::Representation(s, _, _) => Value::Scalar(s.to_string()),
        YamlData::Sequence(items) => Value::Seq(items.iter().map(convert).collect()),
        YamlData::Mapping(map) => Value::Map(
            map.iter()
                .map(|(k, v)| {
                    let mut v = convert(v);
                    // A block value starts on the line after its key; the key
                    // is where a reader looks.
                    if matches!(v.value, Value::Map(_) | Value::Seq(_) | Value::Null) {
                        v.line = k.span.start.line();
                    }
                    (scalar_text(k), v)
                })
                .collect(),
        ),
        YamlData::Tagged(_, inner) => return convert(inner),
        YamlData::Alias(_) | YamlData::BadValue => Value::Null,
    };
    Node { line, value }
}

fn scalar_text(node: &MarkedYaml) -> String {
    match convert(node).value {
        Value::Scalar(s) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_keep_their_lines() {
        let doc = Node::parse("services:\n  web:\n    build: .\n    ports:\n      - \"80:80\"\n")
            .unwrap();
        let web = doc.get("services").unwrap().get("web").unwrap();
        assert_eq!(web.line, 2);
        assert_eq!(web.get("build").unwrap().str(), Some("."));
        assert_eq!(web.get("build").unwrap().line, 3);
        let ports = web.get("ports").unwrap();
        assert_eq!(ports.line, 4);
        assert_eq!(ports.items()[0].str(), Some("80:80"));
        assert_eq!(ports.items()[0].line, 5);
    }

    #[test]
    fn numbers_read_as_text_and_bad_yaml_is_none() {
        let doc = Node::parse("port: 80\n").unwrap();
        assert_eq!(doc.get("port").unwrap().str(), Some("80"));
        assert!(Node::parse("a: [\n").is_none());
    }
}
