//! What a method says about itself: its [`Descriptor`] (title, caption, what it needs, how its
//! map is drawn, which maps share its units) and the schema of its settings (key, label, type,
//! default, limits, choices, one line of help, and where the default comes from).
//!
//! The schema is the one place a setting's limits live. [`validate`] checks settings given as
//! JSON against it (an unknown key is an error, not a setting silently left at its default) and
//! fills in the defaults; the page builds its forms from it and the CLI its flags. A setting's
//! default is read from the method's config struct (`Default`), so it is written once.

use serde::Serialize;
use serde_json::{Map, Value};

use super::Display;
use crate::error::{Error, Result};

/// What every registry's entries say of themselves (a method's [`Descriptor`], a metric's):
/// the name, the title, and the schema of the settings that [`validate`] checks.
pub trait Entry: Clone + Serialize + std::fmt::Debug + Send + Sync {
    /// The name on the command line and in JSON.
    fn id(&self) -> &'static str;
    fn title(&self) -> &'static str;
    fn settings(&self) -> &[Setting];
}

impl Entry for Descriptor {
    fn id(&self) -> &'static str {
        self.id
    }

    fn title(&self) -> &'static str {
        self.title
    }

    fn settings(&self) -> &[Setting] {
        &self.settings
    }
}

/// A method's description, as the registry lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The method's name on the command line and in JSON (`"integrated-gradients"`).
    pub id: &'static str,
    pub title: &'static str,
    /// One line on what the map shows, for a room. `{key}` stands for a setting's value
    /// (a choice by its label) and `{layer}` for the layer the map lives on.
    pub caption: &'static str,
    pub needs: Needs,
    /// How the cost grows, so that the page runs the cheap methods first.
    pub cost: Cost,
    pub display: Display,
    /// Which maps may share one colour scale with this one: those in the same units.
    pub units: Units,
    /// What the completeness check compares (`"Σφ − (f(x) − f(x′))"`), for methods with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completeness: Option<&'static str>,
    /// Maps on superpixels: how many segments of each sign to show at first (`None`: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<Option<usize>>,
    /// Its gradient passes are independent and only summed (see [`super::summed`]): the page's
    /// workers share them.
    pub summed: bool,
    pub settings: Vec<Setting>,
}

impl Descriptor {
    pub fn new(
        id: &'static str,
        title: &'static str,
        caption: &'static str,
        needs: Needs,
        cost: Cost,
        display: Display,
        units: Units,
    ) -> Descriptor {
        Descriptor {
            id,
            title,
            caption,
            needs,
            cost,
            display,
            units,
            completeness: None,
            segments: None,
            summed: false,
            settings: vec![],
        }
    }

    /// The settings, their defaults read from the config struct `T` (see
    /// [`Setting::defaults_from`]).
    pub fn settings<T: Serialize + Default>(mut self, settings: Vec<Setting>) -> Descriptor {
        self.settings = Setting::defaults_from::<T>(settings);
        self
    }

    /// The method checks a completeness axiom: what it compares.
    pub fn completeness(mut self, what: &'static str) -> Descriptor {
        self.completeness = Some(what);
        self
    }

    /// A method whose gradient passes are summed in rounds ([`super::summed`]).
    pub fn summed(mut self) -> Descriptor {
        self.summed = true;
        self
    }

    /// A map on superpixels, showing its top `top` of each sign at first (`None`: all).
    pub fn segments(mut self, top: Option<usize>) -> Descriptor {
        self.segments = Some(top);
        self
    }
}

/// What a method needs of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Needs {
    /// Input gradients (or a layer's): the gradient engine must differentiate the model.
    Gradients,
    /// Forward passes only: any model the page can run. Laid out as a plan the workers share.
    ForwardPasses,
    /// One forward pass that exposes a layer: any model the page can run.
    Activations,
    /// The model's attention probabilities.
    Attention,
}

/// How a method's cost grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cost {
    /// One forward and one backward pass, or less.
    Single,
    /// One forward pass per feature (a sentence's tokens).
    PerFeature,
    /// Tens to thousands of passes, as its settings say (steps, samples, masks, windows).
    Many,
}

/// The units of a map, for sharing one colour scale: a scale shared across units is not a
/// comparison (on chelsea CAM's 99th percentile is 17 and the gradient's 0.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Units {
    /// ∂y/∂x (Gradient, SmoothGrad, Guided Backprop).
    Gradient,
    /// (∂y/∂x)² (SmoothGrad², VarGrad).
    SquaredGradient,
    /// A share of f(x) − f(x′) (Gradient × Input, IG, path-sampled IG).
    Contribution,
    /// A superpixel's share of the score (LIME, KernelSHAP).
    SegmentShare,
    /// Its own: no other map shares its scale (each CAM, occlusion, RISE).
    Own,
}

/// One setting of a method.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub key: &'static str,
    pub label: &'static str,
    /// One line of help; empty when the label says it all.
    pub help: &'static str,
    #[serde(flatten)]
    pub kind: Kind,
    /// When `null` is allowed: what it means (`"2M + 2048, as shap"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub none: Option<&'static str>,
    /// Filled in from the method's config struct by [`Setting::defaults_from`].
    pub default: Value,
    /// Where the default comes from (a paper, a reference library).
    pub source: &'static str,
}

/// A setting's type and limits.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Kind {
    /// A whole number in `min..=max`.
    Integer { min: u64, max: u64 },
    /// A finite number in `[min, max]`, or `(min, max]` when `exclusive_min`.
    Number {
        min: f64,
        max: f64,
        #[serde(rename = "exclusiveMin")]
        exclusive_min: bool,
    },
    /// One of the listed values.
    Choice { choices: Vec<Choice> },
    /// A seed: any whole number up to 2⁵³ − 1 (exact in JavaScript).
    Seed,
    /// One of the model's layers, by ONNX tensor name (`null` for the method's default).
    Layer,
    /// A position counted from 0 in JSON and from 1 for people (an attention layer or head):
    /// at most `max` in JSON.
    Index { max: u64 },
}

/// One value of a choice, with its label for people.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub value: Value,
    pub label: &'static str,
}

/// The largest seed: 2⁵³ − 1, so that a seed survives JavaScript's numbers.
pub const MAX_SEED: u64 = (1 << 53) - 1;

impl Setting {
    fn new(key: &'static str, label: &'static str, kind: Kind) -> Setting {
        Setting { key, label, help: "", kind, none: None, default: Value::Null, source: "" }
    }

    pub fn integer(key: &'static str, label: &'static str, min: u64, max: u64) -> Setting {
        Setting::new(key, label, Kind::Integer { min, max })
    }

    /// A number in `[min, max]`.
    pub fn number(key: &'static str, label: &'static str, min: f64, max: f64) -> Setting {
        Setting::new(key, label, Kind::Number { min, max, exclusive_min: false })
    }

    /// A number in `(min, max]`.
    pub fn positive(key: &'static str, label: &'static str, min: f64, max: f64) -> Setting {
        Setting::new(key, label, Kind::Number { min, max, exclusive_min: true })
    }

    pub fn choice(key: &'static str, label: &'static str, choices: &[(Value, &'static str)]) -> Setting {
        let choices = choices.iter().map(|(value, label)| Choice { value: value.clone(), label }).collect();
        Setting::new(key, label, Kind::Choice { choices })
    }

    /// A choice among a serde enum's values, named as the enum serialises them.
    pub fn variants<T: Serialize>(
        key: &'static str,
        label: &'static str,
        choices: &[(T, &'static str)],
    ) -> Setting {
        let choices: Vec<(Value, &'static str)> =
            choices.iter().map(|(v, l)| (serde_json::to_value(v).unwrap_or(Value::Null), *l)).collect();
        Setting::choice(key, label, &choices)
    }

    /// A position counted from 1 for people, from 0 in JSON.
    pub fn index(key: &'static str, label: &'static str, max: u64) -> Setting {
        Setting::new(key, label, Kind::Index { max }).help("1 is the first")
    }

    pub fn seed() -> Setting {
        Setting::new("seed", "Seed", Kind::Seed).help("the same seed gives the same map")
    }

    pub fn layer() -> Setting {
        Setting::new("layer", "Layer", Kind::Layer).or_none("the layer feeding the global pooling")
    }

    pub fn help(mut self, help: &'static str) -> Setting {
        self.help = help;
        self
    }

    pub fn source(mut self, source: &'static str) -> Setting {
        self.source = source;
        self
    }

    /// `null` is allowed, and means `meaning`.
    pub fn or_none(mut self, meaning: &'static str) -> Setting {
        self.none = Some(meaning);
        self
    }

    /// Fills in each setting's default from a config struct's `Default`, serialised: the
    /// config struct is where a default is written.
    pub fn defaults_from<T: Serialize + Default>(mut settings: Vec<Setting>) -> Vec<Setting> {
        let defaults = to_json(&T::default());
        for setting in &mut settings {
            setting.default = defaults.get(setting.key).cloned().unwrap_or(Value::Null);
        }
        settings
    }

    /// Checks one value against the setting; the error says what the setting accepts.
    fn check(&self, value: &Value, title: &str) -> Result<()> {
        let fail = |accepts: String| {
            Err(Error::Setting(format!(
                "{title}: “{}” must be {accepts}; it is {}.",
                self.label,
                shown(value)
            )))
        };
        if value.is_null() {
            return match self.none {
                Some(_) => Ok(()),
                None => fail(self.accepts()),
            };
        }
        let ok = match &self.kind {
            Kind::Integer { min, max } => value.as_u64().is_some_and(|v| (*min..=*max).contains(&v)),
            Kind::Number { min, max, exclusive_min } => value.as_f64().is_some_and(|v| {
                v.is_finite() && v <= *max && if *exclusive_min { v > *min } else { v >= *min }
            }),
            Kind::Choice { choices } => choices.iter().any(|c| same_choice(&c.value, value)),
            Kind::Seed => value.as_u64().is_some_and(|v| v <= MAX_SEED),
            Kind::Layer => value.is_string(),
            Kind::Index { max } => value.as_u64().is_some_and(|v| v <= *max),
        };
        if ok {
            Ok(())
        } else {
            fail(self.accepts())
        }
    }

    /// What the setting accepts, in words.
    pub fn accepts(&self) -> String {
        let mut accepts = match &self.kind {
            Kind::Integer { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Number { min, max, exclusive_min: false } => format!("a number from {min} to {max}"),
            Kind::Number { min, max, exclusive_min: true } => {
                format!("a number above {min} and at most {max}")
            }
            Kind::Choice { choices } => {
                // None is said once, below.
                let names: Vec<String> =
                    choices.iter().filter(|c| !c.value.is_null()).map(|c| shown(&c.value)).collect();
                format!("one of {}", names.join(", "))
            }
            Kind::Seed => format!("a whole number from 0 to {MAX_SEED}"),
            Kind::Layer => "a layer's name".to_owned(),
            Kind::Index { max } => format!("a position from 0 to {max} (shown from 1)"),
        };
        if let Some(meaning) = self.none {
            accepts.push_str(&format!(", or none ({meaning})"));
        }
        accepts
    }
}

impl Setting {
    /// The value a person typed (a command-line flag): a number, a choice by its value, `off`
    /// or `none` where none is allowed, a position counted from 1. Limits are checked by
    /// [`validate`].
    pub fn parse_text(&self, text: &str) -> Result<Value> {
        if self.none.is_some() && matches!(text, "off" | "none") {
            return Ok(Value::Null);
        }
        let fail = || {
            Err(Error::Setting(format!(
                "--{} {text}: it must be {}.",
                self.key.replace('_', "-"),
                self.accepts()
            )))
        };
        let value = match &self.kind {
            Kind::Integer { .. } | Kind::Seed => text.parse::<u64>().map(Value::from).ok(),
            Kind::Number { .. } => {
                text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number)
            }
            Kind::Choice { choices } => {
                choices.iter().find(|c| shown(&c.value) == text).map(|c| c.value.clone())
            }
            Kind::Layer => Some(Value::from(text)),
            Kind::Index { .. } => text.parse::<u64>().ok().and_then(|n| n.checked_sub(1)).map(Value::from),
        };
        match value {
            Some(value) => Ok(value),
            None => fail(),
        }
    }
}

/// A config struct as JSON, each number written as the shortest decimal that reads back as the
/// same f32 (configs hold f32): 0.01, not 0.009999999776482582, so that it equals the 0.01 a
/// person types and a choice lists.
pub fn to_json<T: Serialize>(config: &T) -> Value {
    fn tidy(value: &mut Value) {
        match value {
            Value::Number(n) if n.is_f64() => {
                let shortest = n.as_f64().map(|f| (f as f32).to_string());
                if let Some(tidy) =
                    shortest.and_then(|s| s.parse::<f64>().ok()).and_then(serde_json::Number::from_f64)
                {
                    *n = tidy;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(tidy),
            Value::Object(map) => map.values_mut().for_each(tidy),
            _ => {}
        }
    }
    let mut json = serde_json::to_value(config).unwrap_or(Value::Null);
    tidy(&mut json);
    json
}

/// Whether a value is this choice; numbers compare as the f32 the config holds, so a choice
/// written 0.01 is the 0.009999999776482582 an f32 0.01 prints as.
fn same_choice(choice: &Value, value: &Value) -> bool {
    match (choice.as_f64(), value.as_f64()) {
        (Some(a), Some(b)) => a as f32 == b as f32,
        _ => choice == value,
    }
}

/// A JSON value as a person reads it: strings without quotes, null as "none".
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "none".to_owned(),
        other => other.to_string(),
    }
}

/// Checks `given` against the schema and returns every setting, the missing ones at their
/// defaults. A key the schema does not know is an error that names the settings there are.
pub fn validate(entry: &impl Entry, given: &Map<String, Value>) -> Result<Map<String, Value>> {
    let title = entry.title();
    for key in given.keys() {
        if !entry.settings().iter().any(|s| s.key == key) {
            let known: Vec<&str> = entry.settings().iter().map(|s| s.key).collect();
            return Err(Error::Setting(if known.is_empty() {
                format!("{title} has no settings, so it cannot take {key}.")
            } else {
                format!("{title} has no setting {key}; its settings are {}.", known.join(", "))
            }));
        }
    }
    let mut settings = Map::new();
    for setting in entry.settings() {
        let value = given.get(setting.key).unwrap_or(&setting.default);
        setting.check(value, title)?;
        settings.insert(setting.key.to_owned(), value.clone());
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn descriptor(settings: Vec<Setting>) -> Descriptor {
        Descriptor {
            settings,
            ..Descriptor::new("test", "Test", "", Needs::Gradients, Cost::Single, Display::Signed, Units::Own)
        }
    }

    #[test]
    fn validation_fills_defaults_and_refuses_what_the_schema_does_not_allow() {
        let mut steps = Setting::integer("steps", "Steps", 1, 10);
        steps.default = json!(5);
        let mut tolerance = Setting::positive("tolerance", "Tolerance", 0.0, 1.0).or_none("off");
        tolerance.default = json!(0.01);
        let d = descriptor(vec![steps, tolerance]);
        let given = |v: Value| v.as_object().cloned().unwrap();

        assert_eq!(validate(&d, &Map::new()).unwrap(), given(json!({"steps": 5, "tolerance": 0.01})));
        assert_eq!(
            validate(&d, &given(json!({"tolerance": null}))).unwrap(),
            given(json!({"steps": 5, "tolerance": null}))
        );
        let error = |v| validate(&d, &given(v)).unwrap_err().to_string();
        assert_eq!(error(json!({"step": 3})), "Test has no setting step; its settings are steps, tolerance.");
        assert_eq!(
            error(json!({"steps": 11})),
            "Test: “Steps” must be a whole number from 1 to 10; it is 11."
        );
        assert_eq!(
            error(json!({"steps": 2.5})),
            "Test: “Steps” must be a whole number from 1 to 10; it is 2.5."
        );
        assert_eq!(
            error(json!({"steps": -1})),
            "Test: “Steps” must be a whole number from 1 to 10; it is -1."
        );
        assert_eq!(
            error(json!({"steps": null})),
            "Test: “Steps” must be a whole number from 1 to 10; it is none."
        );
        assert_eq!(
            error(json!({"tolerance": 0})),
            "Test: “Tolerance” must be a number above 0 and at most 1, or none (off); it is 0."
        );
        assert!(validate(&descriptor(vec![]), &given(json!({"x": 1}))).is_err());

        let mut rule =
            Setting::choice("rule", "Rule", &[(json!(0.01), "1%"), (json!(null), "off")]).or_none("off");
        rule.default = json!(null);
        let d = descriptor(vec![rule]);
        assert!(validate(&d, &given(json!({"rule": 0.009999999776482582}))).is_ok(), "an f32 0.01 is 0.01");
        assert_eq!(
            validate(&d, &given(json!({"rule": 0.5}))).unwrap_err().to_string(),
            "Test: “Rule” must be one of 0.01, or none (off); it is 0.5."
        );
    }
}
