//! The registry: every image method, one line each. A method is a type in its own file that
//! implements [`ImageMethod`]: its [`Descriptor`] (with the schema of its settings) and how it
//! runs. Everything else (the page's forms and captions, the CLI's flags, the tests that run
//! every method) reads this list.

use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::perturbation::{Outcome, Perturbations};
use super::schema::{self, Descriptor, Needs};
use super::{Display, Explainer, Progress, Subject};
use crate::error::{Error, Result};

/// Every image method, in the order the page lists them.
static METHODS: &[&dyn ImageMethod] = &[
    &super::gradient::Gradient,
    &super::grad_x_input::GradXInput,
    &super::integrated_gradients::IntegratedGradients,
    &super::path_sampled_ig::PathSampledIg,
    &super::smoothgrad::SmoothGrad,
    &super::smoothgrad::SmoothGradSq,
    &super::smoothgrad::VarGrad,
    &super::guided_backprop::GuidedBackprop,
    &super::cam::Cam,
    &super::grad_cam::GradCam,
    &super::grad_cam_pp::GradCamPp,
    &super::hires_cam::HiResCam,
    &super::xgrad_cam::XGradCam,
    &super::layer_cam::LayerCam,
    &super::score_cam::ScoreCam,
    &super::occlusion::Occlusion,
    &super::rise::Rise,
    &super::lime::Lime,
    &super::kernel_shap::KernelShap,
];

/// An image method: what it is, and how it runs. A method that needs gradients implements
/// [`ImageMethod::attribute`]; one that needs forward passes only implements
/// [`ImageMethod::plan`], and the explainer scores the plan.
pub trait ImageMethod: Sync {
    fn descriptor(&self) -> Descriptor;

    /// The map, from the settings (checked against the schema, defaults filled in).
    fn attribute(
        &self,
        _explainer: &Explainer,
        _subject: &Subject,
        settings: &Settings,
        _progress: Progress<'_>,
    ) -> Result<Outcome> {
        Err(Error::Bug(format!("{} runs as a plan of forward passes", settings.id)))
    }

    /// The inputs of a forward-only method and how their scores combine.
    fn plan(
        &self,
        _explainer: &Explainer,
        _subject: &Subject,
        settings: &Settings,
    ) -> Result<Box<dyn Perturbations>> {
        Err(Error::Bug(format!("{} needs gradients, not only forward passes", settings.id)))
    }

    /// Gradient passes at these settings, at most, for progress reports (a plan counts its own).
    fn passes(&self, _settings: &Settings) -> usize {
        1
    }
}

/// A method's settings, checked against its schema, with the method's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub id: &'static str,
    values: Map<String, Value>,
}

impl Settings {
    /// The settings as the method's config struct.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(Value::Object(self.values.clone()))
            .map_err(|e| Error::Bug(format!("{}'s settings do not fit its config: {e}", self.id)))
    }

    /// The settings as JSON, every key present.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }
}

/// One method with its settings: what the page and the CLI ask for. In JSON,
/// `{"method": "integrated-gradients", "steps": 50, ...}`; settings left out take their
/// defaults, and a key the method does not have is an error.
#[derive(Clone)]
pub struct Method {
    spec: &'static dyn ImageMethod,
    descriptor: Descriptor,
    settings: Settings,
}

impl Method {
    /// Every method at its default settings, in the order the page lists them.
    pub fn all() -> Vec<Method> {
        METHODS.iter().filter_map(|spec| Method::build(*spec, &Map::new()).ok()).collect()
    }

    /// Every method's descriptor, in order.
    pub fn descriptors() -> Vec<Descriptor> {
        METHODS.iter().map(|spec| spec.descriptor()).collect()
    }

    /// The method at its default settings, by name.
    pub fn from_name(name: &str) -> Result<Method> {
        Method::new(name, Value::Object(Map::new()))
    }

    /// The method `name` with `settings` (a JSON object; missing keys take their defaults).
    pub fn new(name: &str, settings: Value) -> Result<Method> {
        let spec = METHODS.iter().find(|spec| spec.descriptor().id == name).ok_or_else(|| {
            let names: Vec<&str> = Method::descriptors().iter().map(|d| d.id).collect();
            Error::Setting(format!("There is no method {name}; the methods are {}.", names.join(", ")))
        })?;
        let Value::Object(given) = settings else {
            return Err(Error::Setting(format!("The settings of {name} must be a JSON object.")));
        };
        Method::build(*spec, &given)
    }

    /// The method `name` with the settings of a config struct.
    pub fn with<T: Serialize>(name: &str, config: &T) -> Result<Method> {
        Method::new(name, schema::to_json(config))
    }

    /// Parses `{"method": NAME, ...settings}`.
    pub fn parse(json: &str) -> Result<Method> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Error::Setting(format!("The settings are not JSON: {e}.")))?;
        Method::from_value(value)
    }

    fn from_value(value: Value) -> Result<Method> {
        let Value::Object(mut given) = value else {
            return Err(Error::Setting("A method's settings must be a JSON object.".into()));
        };
        let name = match given.remove("method") {
            Some(Value::String(name)) => name,
            _ => return Err(Error::Setting("A method's settings must name the method.".into())),
        };
        Method::new(&name, Value::Object(given))
    }

    fn build(spec: &'static dyn ImageMethod, given: &Map<String, Value>) -> Result<Method> {
        let descriptor = spec.descriptor();
        let values = schema::validate(&descriptor, given)?;
        Ok(Method { spec, settings: Settings { id: descriptor.id, values }, descriptor })
    }

    /// The method's name on the command line and in JSON.
    pub fn name(&self) -> &'static str {
        self.descriptor.id
    }

    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// How the map is drawn: signed maps with a diverging colour map centred at zero,
    /// magnitudes with a sequential one.
    pub fn display(&self) -> Display {
        self.descriptor.display
    }

    /// Whether the method needs forward passes only (it works on any model, and its passes can
    /// be split, see [`super::Plan`]).
    pub fn forward_only(&self) -> bool {
        self.descriptor.needs == Needs::ForwardPasses
    }

    pub(super) fn spec(&self) -> &'static dyn ImageMethod {
        self.spec
    }
}

impl PartialEq for Method {
    fn eq(&self, other: &Method) -> bool {
        self.settings == other.settings
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Value::Object(self.json()))
    }
}

impl Method {
    /// `{"method": NAME, ...settings}`.
    fn json(&self) -> Map<String, Value> {
        let mut json = Map::new();
        json.insert("method".into(), self.name().into());
        json.extend(self.settings.values.clone());
        json
    }
}

impl Serialize for Method {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Method, D::Error> {
        Method::from_value(Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_a_unique_name_and_its_defaults_fit_its_schema_and_config() {
        let methods = Method::all();
        assert_eq!(methods.len(), METHODS.len(), "every method validates at its defaults");
        for (i, method) in methods.iter().enumerate() {
            let d = method.descriptor();
            assert!(methods[..i].iter().all(|m| m.name() != d.id), "{} twice", d.id);
            assert!(d.settings.iter().all(|s| !s.default.is_null() || s.none.is_some()), "{}", d.id);
            let round_trip: Method = serde_json::from_str(&serde_json::to_string(method).unwrap()).unwrap();
            assert_eq!(&round_trip, method);
        }
    }
}
