//! Content that ships inside the binary: the default rule set of `sensor-host run` and the
//! reconstructed 2024 history of channel 291. Sources live in `sensor-host/content/`.

use crate::compile::compile;
use crate::content::ContentBuf;
use crate::source;

/// The default rule set's source.
pub const DEFAULT_RULES: &str = include_str!("../content/default.toml");

/// One file of the channel 291 history: its name on disk and its rule source.
#[derive(Clone, Copy, Debug)]
pub struct HistoryFile {
    /// File name stem, as the sensor's channel-file directory would hold it.
    pub name: &'static str,
    /// When it was published (UTC), as the timeline shows it.
    pub published: &'static str,
    /// Rule source.
    pub source: &'static str,
}

macro_rules! history {
    ($($name:literal at $when:literal),* $(,)?) => {
        [$(HistoryFile {
            name: $name,
            published: $when,
            source: include_str!(concat!("../content/incident/", $name, ".toml")),
        }),*]
    };
}

/// Channel 291 as it evolved in 2024, oldest first.
pub const HISTORY: [HistoryFile; 6] = history![
    "C-00000291-2024-03-05" at "2024-03-05",
    "C-00000291-2024-04-08" at "2024-04-08",
    "C-00000291-2024-04-16" at "2024-04-16",
    "C-00000291-2024-04-24" at "2024-04-24",
    "C-00000291-2024-07-19-0409" at "2024-07-19 04:09",
    "C-00000291-2024-07-19-0527" at "2024-07-19 05:27",
];

/// The 19 July 04:09 file: the instance that matches on the 21st field.
pub const JULY_19_0409: HistoryFile = HISTORY[4];

/// Compiles built-in rule source. Built-in sources are tested to compile, so failure is a bug.
pub fn compile_builtin(name: &str, text: &str) -> ContentBuf {
    let content = source::parse(text, name)
        .unwrap_or_else(|e| panic!("built-in content {name} does not parse: {e}"));
    let bytes = compile(&content)
        .unwrap_or_else(|e| panic!("built-in content {name} does not compile: {e}"));
    ContentBuf::new(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_source_compiles() {
        compile_builtin("default.toml", DEFAULT_RULES);
        for file in HISTORY {
            compile_builtin(file.name, file.source);
        }
    }
}
