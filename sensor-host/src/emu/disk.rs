//! The sensor's channel-file directory on the emulated disk,
//! `\SystemRoot\System32\drivers\SensorAgent\`, which survives reboots.
//!
//! Several `C-00000291-*.sys` files may sit there at once, as they did on 19 July 2024. This
//! module owns the directory listing and the order in which a driver should try the files of a
//! channel ([`ContentDir::candidates`]): highest content version first (read from each file's
//! header), file name as the tie-break, files whose header does not parse last. Which candidate
//! *wins* is the driver's validator's call. The bytes themselves live in host memory owned by the
//! caller; this module never validates content and never copies it.

use std::collections::BTreeMap;

use sensor_core::channel::ChannelFile;

/// Where the driver looks for channel files.
pub const CONTENT_DIR: &str = r"\SystemRoot\System32\drivers\SensorAgent";

/// The file-name prefix of channel `channel`'s files: `C-00000291-`.
pub fn channel_prefix(channel: u32) -> String {
    format!("C-{channel:08}-")
}

/// One file in the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentFile<'c> {
    /// File name, as written.
    pub name: String,
    /// Its bytes.
    pub bytes: &'c [u8],
    /// Content version from its header, when the header parses.
    pub version: Option<u64>,
}

/// The channel-file directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContentDir<'c> {
    /// Keyed by upper-cased name: Windows file names are case-insensitive.
    files: BTreeMap<String, (String, &'c [u8])>,
}

/// Matches a Windows-style pattern with `*` wildcards, case-insensitively.
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    let (pattern, name) = (pattern.to_ascii_uppercase(), name.to_ascii_uppercase());
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

impl<'c> ContentDir<'c> {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes (or replaces) a file.
    pub fn write(&mut self, name: &str, bytes: &'c [u8]) {
        self.files
            .insert(name.to_ascii_uppercase(), (name.to_owned(), bytes));
    }

    /// Deletes a file; whether it existed.
    pub fn delete(&mut self, name: &str) -> bool {
        self.files.remove(&name.to_ascii_uppercase()).is_some()
    }

    /// Deletes every file matching `pattern` (`C-00000291*.sys`); returns their names.
    pub fn delete_matching(&mut self, pattern: &str) -> Vec<String> {
        let doomed: Vec<String> = self
            .files
            .iter()
            .filter(|(_, (name, _))| matches_pattern(pattern, name))
            .map(|(key, _)| key.clone())
            .collect();
        doomed
            .iter()
            .filter_map(|key| self.files.remove(key).map(|(name, _)| name))
            .collect()
    }

    /// Every file, by name.
    pub fn files(&self) -> impl Iterator<Item = ContentFile<'c>> + '_ {
        self.files.values().map(|(name, bytes)| ContentFile {
            name: name.clone(),
            bytes,
            version: ChannelFile::parse(bytes)
                .ok()
                .map(|f| f.header().content_version),
        })
    }

    /// The files of `channel` (named `C-<channel>-*.sys`) in the order a driver tries them:
    /// highest content version first, then the name that sorts last; unparsable files last.
    pub fn candidates(&self, channel: u32) -> Vec<ContentFile<'c>> {
        let pattern = format!("{}*.sys", channel_prefix(channel));
        let mut files: Vec<ContentFile<'c>> = self
            .files()
            .filter(|f| matches_pattern(&pattern, &f.name))
            .collect();
        files.sort_by(|a, b| {
            (b.version, b.name.to_ascii_uppercase()).cmp(&(a.version, a.name.to_ascii_uppercase()))
        });
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::{compile_builtin, HISTORY};

    #[test]
    fn patterns_match_like_the_workaround_says() {
        assert!(matches_pattern(
            "C-00000291*.sys",
            "C-00000291-2024-07-19-0409.sys"
        ));
        assert!(matches_pattern("c-00000291*.SYS", "C-00000291-x.sys"));
        assert!(!matches_pattern("C-00000291*.sys", "C-00000292-x.sys"));
        assert!(!matches_pattern("C-00000291*.sys", "C-00000291-x.sys.bak"));
        assert!(matches_pattern(
            "C-*-*0409*.sys",
            "C-00000291-2024-07-19-0409.sys"
        ));
        assert!(matches_pattern("exact.sys", "EXACT.SYS"));
        assert!(!matches_pattern("exact.sys", "exact.sys2"));
    }

    #[test]
    fn candidates_go_newest_version_first_and_deletion_changes_the_winner() {
        let compiled: Vec<_> = HISTORY
            .iter()
            .map(|f| (format!("{}.sys", f.name), compile_builtin(f.name, f.source)))
            .collect();
        let mut dir = ContentDir::new();
        for (name, buf) in compiled.iter().rev() {
            dir.write(name, buf.as_bytes());
        }
        dir.write("C-00000291-garbage.sys", b"not a channel file");
        dir.write("C-00000292-other.sys", compiled[0].1.as_bytes());
        let order: Vec<_> = dir.candidates(291).into_iter().map(|f| f.name).collect();
        assert_eq!(order.len(), 7);
        assert_eq!(order[0], "C-00000291-2024-07-19-0527.sys");
        assert_eq!(order[1], "C-00000291-2024-07-19-0409.sys");
        assert_eq!(order[5], "C-00000291-2024-03-05.sys");
        assert_eq!(order[6], "C-00000291-garbage.sys");

        assert!(dir.delete("c-00000291-2024-07-19-0527.SYS"));
        assert!(!dir.delete("C-00000291-2024-07-19-0527.sys"));
        assert_eq!(
            dir.candidates(291)[0].name,
            "C-00000291-2024-07-19-0409.sys"
        );
        let gone = dir.delete_matching("C-00000291*.sys");
        assert_eq!(gone.len(), 6);
        assert!(dir.candidates(291).is_empty());
        assert_eq!(dir.files().count(), 1, "channel 292 is untouched");
    }
}
