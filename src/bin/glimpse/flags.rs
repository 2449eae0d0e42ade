//! Every setting of every method as a command-line flag, made from the registries and parsed
//! by each setting's schema.

use std::path::PathBuf;

use clap::{Arg, ArgMatches};
use glimpse::explain::schema::Entry;
use glimpse::explain::Method;
use glimpse::text::TextMethod;

/// Every setting of every method (image and text) as a flag, from the registries.
#[derive(Default)]
pub struct SettingFlags(Vec<(&'static str, String)>);

/// Each setting key once, with its help: the first method's label and help, and which
/// methods have it.
fn setting_flags() -> Vec<(&'static str, String)> {
    let mut flags: Vec<(&'static str, String, Vec<&'static str>)> = Vec::new();
    for descriptor in Method::descriptors().iter().chain(&TextMethod::descriptors()) {
        for setting in &descriptor.settings {
            match flags.iter_mut().find(|(key, ..)| *key == setting.key) {
                Some((.., methods)) if !methods.contains(&descriptor.id) => methods.push(descriptor.id),
                Some(_) => {}
                None => {
                    let help = format!("{}: {}", setting.label, setting.accepts());
                    flags.push((setting.key, help, vec![descriptor.id]));
                }
            }
        }
    }
    flags.into_iter().map(|(key, help, methods)| (key, format!("{help} ({})", methods.join(", ")))).collect()
}

impl clap::FromArgMatches for SettingFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let given = setting_flags()
            .into_iter()
            .filter_map(|(key, _)| matches.get_one::<String>(key).map(|value| (key, value.clone())))
            .collect();
        Ok(SettingFlags(given))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = SettingFlags::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for SettingFlags {
    fn augment_args(command: clap::Command) -> clap::Command {
        setting_flags().into_iter().fold(command, |command, (key, help)| {
            command.arg(Arg::new(key).long(key.replace('_', "-")).value_name("VALUE").help(help))
        })
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        SettingFlags::augment_args(command)
    }
}

impl SettingFlags {
    /// The flags as the method's settings (JSON), each parsed by its schema; a flag the
    /// method does not have is an error. `--baseline FILE.npy` is the custom baseline, and
    /// its path is returned beside.
    pub fn settings(&self, descriptor: &impl Entry) -> Result<(serde_json::Value, Option<PathBuf>), String> {
        let mut settings = serde_json::Map::new();
        let mut baseline_file = None;
        for (key, text) in &self.0 {
            let flag = format!("--{}", key.replace('_', "-"));
            let setting = descriptor
                .settings()
                .iter()
                .find(|s| s.key == *key)
                .ok_or_else(|| format!("{flag} does not apply to {}", descriptor.id()))?;
            let value = if *key == "baseline" && text.ends_with(".npy") {
                baseline_file = Some(PathBuf::from(text));
                "custom".into()
            } else {
                setting.parse_text(text).map_err(|e| e.to_string())?
            };
            settings.insert((*key).to_owned(), value);
        }
        Ok((serde_json::Value::Object(settings), baseline_file))
    }
}
