//! Named AWS profiles from the shared files the AWS CLI writes: `~/.aws/credentials` and
//! `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`). The `object_store`
//! crate reads credentials from the environment, web identity, containers and the instance
//! metadata service, but not these files; this module fills that gap for static keys, regions
//! and endpoints. Profiles that assume roles or use SSO are reported, not half-supported.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a profile provides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// `aws_access_key_id`.
    pub access_key_id: Option<String>,
    /// `aws_secret_access_key`.
    pub secret_access_key: Option<String>,
    /// `aws_session_token`.
    pub session_token: Option<String>,
    /// `region`.
    pub region: Option<String>,
    /// `endpoint_url`.
    pub endpoint_url: Option<String>,
}

/// Keys that mean the profile gets its credentials another way than static keys.
const UNSUPPORTED: &[&str] = &[
    "role_arn",
    "source_profile",
    "credential_process",
    "sso_session",
    "sso_start_url",
];

/// The profile called `name`, merged from the credentials and config files; `Ok(None)` when
/// neither file has it.
pub fn load(name: &str) -> Result<Option<Profile>, String> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let credentials = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    let config = std::env::var_os("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
    let from_credentials = credentials
        .as_deref()
        .map(|p| section(p, name))
        .transpose()?
        .flatten();
    let config_section = if name == "default" {
        "default".to_string()
    } else {
        format!("profile {name}")
    };
    let from_config = config
        .as_deref()
        .map(|p| section(p, &config_section))
        .transpose()?
        .flatten();
    if from_credentials.is_none() && from_config.is_none() {
        return Ok(None);
    }
    let mut values = from_config.unwrap_or_default();
    values.extend(from_credentials.unwrap_or_default());
    if let Some(key) = UNSUPPORTED.iter().find(|k| values.contains_key(**k)) {
        return Err(format!(
            "AWS profile `{name}` uses `{key}`, which salesql does not support; export temporary \
             credentials instead (aws configure export-credentials --profile {name} --format env)"
        ));
    }
    let take = |key: &str| values.get(key).cloned();
    Ok(Some(Profile {
        access_key_id: take("aws_access_key_id"),
        secret_access_key: take("aws_secret_access_key"),
        session_token: take("aws_session_token"),
        region: take("region"),
        endpoint_url: take("endpoint_url"),
    }))
}

/// The `key = value` pairs of `[name]` in an INI file; `Ok(None)` when the file or the section
/// does not exist.
fn section(path: &Path, name: &str) -> Result<Option<BTreeMap<String, String>>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut current: Option<&str> = None;
    let mut found: Option<BTreeMap<String, String>> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(header.trim());
            if current == Some(name) {
                found.get_or_insert_with(BTreeMap::new);
            }
            continue;
        }
        if current == Some(name)
            && let Some((key, value)) = line.split_once('=')
            && let Some(section) = found.as_mut()
        {
            section.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_read_and_merged() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("credentials");
        std::fs::write(
            &credentials,
            "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s1\n\n[ci]\n# comment\naws_access_key_id=AKIA2\naws_secret_access_key=s2\n",
        )
        .unwrap();
        let config = dir.path().join("config");
        std::fs::write(&config, "[default]\nregion = eu-west-1\n[profile ci]\nregion = us-east-2\nendpoint_url = http://127.0.0.1:9000\n").unwrap();
        let ci = section(&credentials, "ci").unwrap().unwrap();
        assert_eq!(ci["aws_access_key_id"], "AKIA2");
        let ci_config = section(&config, "profile ci").unwrap().unwrap();
        assert_eq!(ci_config["endpoint_url"], "http://127.0.0.1:9000");
        assert_eq!(section(&config, "profile nope").unwrap(), None);
        assert_eq!(
            section(&dir.path().join("missing"), "default").unwrap(),
            None
        );
    }
}
