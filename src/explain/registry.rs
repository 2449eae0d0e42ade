//! The registry: every image method, one line each. A method is a type in its own file that
//! implements [`ImageMethod`]: its [`Descriptor`] (with the schema of its settings) and how it
//! runs. Everything else (the page's forms and captions, the CLI's flags, the tests that run
//! every method) reads this list. [`Registered`] is a method with its settings, whichever
//! registry it is from: the text methods' ([`crate::text::explain::TokenMethod`]) works the same.

use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::perturbation::{Outcome, Perturbations};
use super::schema::{self, Descriptor, Entry, Needs};
use super::summed::LaidOut;
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

/// A list of methods: the image methods (`dyn ImageMethod`), the text ones, or the metrics.
pub trait Registry: Sync + 'static {
    /// What the list holds, in an error message: "method", "text method".
    const NOUN: &'static str;
    /// The key that names the entry in JSON: "method", "metric".
    const KEY: &'static str = "method";

    /// What an entry says of itself.
    type About: Entry;

    fn list() -> &'static [&'static Self];

    fn describe(&self) -> Self::About;
}

impl Registry for dyn ImageMethod {
    const NOUN: &'static str = "method";
    type About = Descriptor;

    fn list() -> &'static [&'static dyn ImageMethod] {
        METHODS
    }

    fn describe(&self) -> Descriptor {
        self.descriptor()
    }
}

/// An image method: what it is, and how it runs. A method that needs gradients implements
/// [`ImageMethod::attribute`], or [`ImageMethod::integrand`] when its passes are only summed;
/// one that needs forward passes only implements [`ImageMethod::plan`], and the explainer
/// scores the plan.
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

    /// A summed gradient method ([`Descriptor::summed`]) laid out on the subject: what its
    /// rounds of weighted gradient passes make, and its first round.
    fn integrand(&self, _explainer: &Explainer, _subject: &Subject, settings: &Settings) -> Result<LaidOut> {
        Err(Error::Bug(format!("{} is not a summed gradient method", settings.id)))
    }

    /// Gradient passes at these settings, at most, for progress reports (a plan counts its own).
    fn passes(&self, _settings: &Settings) -> usize {
        1
    }

    /// Whether the method can run on the explainer's model, and if not, why: forward-only
    /// methods run on any model the page can run; gradient methods need the engine to
    /// differentiate it, and those that look at a layer need a convolutional one. The page lists
    /// the reason on the method's tile instead of running it.
    fn applies(&self, explainer: &Explainer) -> Result<()> {
        let descriptor = self.descriptor();
        if descriptor.needs == Needs::Gradients {
            explainer.gradient_model()?;
        }
        if descriptor.settings.iter().any(|s| s.key == "layer") && explainer.layers()?.is_empty() {
            return Err(Error::Explain(format!(
                "{} looks at a convolutional layer, and this model has none.",
                descriptor.title
            )));
        }
        Ok(())
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

/// One image method with its settings.
pub type Method = Registered<dyn ImageMethod>;

/// One method with its settings: what the page and the CLI ask for. In JSON,
/// `{"method": "integrated-gradients", "steps": 50, ...}`; settings left out take their
/// defaults, and a key the method does not have is an error.
pub struct Registered<S: ?Sized + Registry> {
    spec: &'static S,
    descriptor: S::About,
    settings: Settings,
}

impl<S: ?Sized + Registry> Registered<S> {
    /// Every method at its default settings, in the order the page lists them.
    pub fn all() -> Vec<Self> {
        S::list().iter().filter_map(|spec| Self::build(*spec, &Map::new()).ok()).collect()
    }

    /// Every method's descriptor, in order.
    pub fn descriptors() -> Vec<S::About> {
        S::list().iter().map(|spec| spec.describe()).collect()
    }

    /// The method at its default settings, by name.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::new(name, Value::Object(Map::new()))
    }

    /// The method `name` with `settings` (a JSON object; missing keys take their defaults).
    pub fn new(name: &str, settings: Value) -> Result<Self> {
        let spec = S::list().iter().find(|spec| spec.describe().id() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::descriptors().iter().map(|d| d.id()).collect();
            let noun = S::NOUN;
            Error::Setting(format!("There is no {noun} {name}; the {noun}s are {}.", names.join(", ")))
        })?;
        let Value::Object(given) = settings else {
            return Err(Error::Setting(format!("The settings of {name} must be a JSON object.")));
        };
        Self::build(*spec, &given)
    }

    /// The method `name` with the settings of a config struct.
    pub fn with<T: Serialize>(name: &str, config: &T) -> Result<Self> {
        Self::new(name, schema::to_json(config))
    }

    /// Parses `{"method": NAME, ...settings}`.
    pub fn parse(json: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Error::Setting(format!("The settings are not JSON: {e}.")))?;
        Self::from_value(value)
    }

    fn from_value(value: Value) -> Result<Self> {
        let (noun, key) = (S::NOUN, S::KEY);
        let Value::Object(mut given) = value else {
            return Err(Error::Setting(format!("A {noun}'s settings must be a JSON object.")));
        };
        let name = match given.remove(key) {
            Some(Value::String(name)) => name,
            _ => return Err(Error::Setting(format!("A {noun}'s settings must name the {key}."))),
        };
        Self::new(&name, Value::Object(given))
    }

    fn build(spec: &'static S, given: &Map<String, Value>) -> Result<Self> {
        let descriptor = spec.describe();
        let values = schema::validate(&descriptor, given)?;
        Ok(Registered { spec, settings: Settings { id: descriptor.id(), values }, descriptor })
    }

    /// The method's name on the command line and in JSON.
    pub fn name(&self) -> &'static str {
        self.descriptor.id()
    }

    pub fn descriptor(&self) -> &S::About {
        &self.descriptor
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn spec(&self) -> &'static S {
        self.spec
    }

    /// `{"method": NAME, ...settings}`.
    fn json(&self) -> Map<String, Value> {
        let mut json = Map::new();
        json.insert(S::KEY.into(), self.name().into());
        json.extend(self.settings.values.clone());
        json
    }
}

impl<S: ?Sized + Registry<About = Descriptor>> Registered<S> {
    /// How the map is drawn: signed maps with a diverging colour map centred at zero,
    /// magnitudes with a sequential one.
    pub fn display(&self) -> Display {
        self.descriptor.display
    }

    /// Whether scores can be negative (an input that argues against the class).
    pub fn signed(&self) -> bool {
        self.descriptor.display.signed()
    }

    /// What the method needs of the model.
    pub fn needs(&self) -> Needs {
        self.descriptor.needs
    }

    /// Whether the method needs forward passes only (it works on any model, and its passes can
    /// be split, see [`super::Plan`]).
    pub fn forward_only(&self) -> bool {
        self.descriptor.needs == Needs::ForwardPasses
    }
}

impl<S: ?Sized + Registry> Clone for Registered<S> {
    fn clone(&self) -> Self {
        Registered { spec: self.spec, descriptor: self.descriptor.clone(), settings: self.settings.clone() }
    }
}

impl<S: ?Sized + Registry> PartialEq for Registered<S> {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings
    }
}

impl<S: ?Sized + Registry> fmt::Debug for Registered<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Value::Object(self.json()))
    }
}

impl<S: ?Sized + Registry> Serialize for Registered<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> std::result::Result<Z::Ok, Z::Error> {
        self.json().serialize(serializer)
    }
}

impl<'de, S: ?Sized + Registry> Deserialize<'de> for Registered<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Self::from_value(Value::deserialize(deserializer)?).map_err(D::Error::custom)
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
