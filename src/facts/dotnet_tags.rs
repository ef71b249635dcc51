//! .NET image tags: the runtime version an SDK version was released with,
//! and the platform suffixes under which the `sdk`, `runtime` and `aspnet`
//! images all carried those fixed tags (generated from dotnet-docker's
//! manifest history: `data/dotnet-sdk-runtime.tsv`, its header names the
//! snapshot; `data/dotnet-sdk-runtime.py` regenerates it).

const TABLE: &str = include_str!("data/dotnet-sdk-runtime.tsv");

/// The runtime tag released with the SDK tag `sdk_tag` (`6.0.100-alpine3.14-amd64`
/// → `6.0.0-alpine3.14-amd64`) and the dotnet-docker commit that first
/// published both, or `None` when the table does not hold that tag or pairs
/// it with two runtime versions (a manifest that updated one architecture first).
pub fn runtime_for_sdk(sdk_tag: &str) -> Option<(String, &'static str)> {
    let mut found = None;
    for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
        let mut cols = line.split('\t');
        let (Some(sdk), Some(runtime), Some(suffixes), Some(commit)) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        let Some(suffix) = sdk_tag.strip_prefix(sdk) else {
            continue;
        };
        let written = if suffix.is_empty() { "-" } else { suffix };
        if suffixes.split(' ').any(|s| s == written) {
            if found.is_some() {
                return None;
            }
            found = Some((format!("{runtime}{suffix}"), commit));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::runtime_for_sdk;

    #[test]
    fn feature_band_to_runtime() {
        assert_eq!(
            runtime_for_sdk("6.0.100-alpine3.14-amd64").map(|(t, _)| t),
            Some("6.0.0-alpine3.14-amd64".to_string())
        );
        assert_eq!(runtime_for_sdk("6.0.100-alpine9.99"), None);
        assert_eq!(runtime_for_sdk("6.0"), None);
        assert_eq!(runtime_for_sdk("8.0.100-alpine3.18-arm64v8"), None);
    }
}
