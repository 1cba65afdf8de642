//! Model deployments as `/model/new` stores them (LiteLLM's `LiteLLM_ProxyModelTable`), and what a
//! request needs from one: the upstream to call, the model name it knows, and the price per token.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub(crate) struct Deployment {
    pub model_id: String,
    /// The public name clients send.
    pub model_name: String,
    pub litellm_params: Value,
    pub model_info: Value,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a chat request to this deployment is sent to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Upstream {
    /// `api_base` without a trailing slash; the endpoint's path goes after it.
    pub base: String,
    pub api_key: Option<String>,
    /// The upstream's model name: `litellm_params.model` without its provider prefix.
    pub model: String,
}

/// Cost per input and output token; zero when the deployment sets none.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Pricing {
    pub input_cost_per_token: f64,
    pub output_cost_per_token: f64,
    /// True when both costs are explicitly 0 (LiteLLM then skips budget checks for the model).
    pub explicitly_free: bool,
}

impl Pricing {
    /// LiteLLM's `response_cost`.
    pub fn cost(&self, prompt_tokens: i64, completion_tokens: i64) -> f64 {
        prompt_tokens as f64 * self.input_cost_per_token + completion_tokens as f64 * self.output_cost_per_token
    }
}

impl Deployment {
    fn param(&self, name: &str) -> Option<&Value> {
        self.litellm_params.get(name).filter(|v| !v.is_null())
    }

    /// Where to send a chat request; `None` without an `api_base` (the reference calls no real
    /// provider).
    pub fn upstream(&self) -> Option<Upstream> {
        let base = self.param("api_base")?.as_str()?.trim_end_matches('/');
        let model = self.param("model").and_then(Value::as_str).unwrap_or(&self.model_name);
        let model = model.split_once('/').map_or(model, |(_, rest)| rest);
        Some(Upstream {
            base: base.to_string(),
            api_key: self.param("api_key").and_then(Value::as_str).map(str::to_string),
            model: model.to_string(),
        })
    }

    /// Prices from `litellm_params`, else `model_info` (LiteLLM copies the former into the latter).
    pub fn pricing(&self) -> Pricing {
        let cost = |name: &str| {
            self.param(name).or_else(|| self.model_info.get(name).filter(|v| !v.is_null())).and_then(Value::as_f64)
        };
        let input = cost("input_cost_per_token");
        let output = cost("output_cost_per_token");
        Pricing {
            input_cost_per_token: input.unwrap_or(0.0),
            output_cost_per_token: output.unwrap_or(0.0),
            explicitly_free: input == Some(0.0) && output == Some(0.0),
        }
    }

    /// The provider prefix of `litellm_params.model` (`openai` for `openai/gpt-x`), `openai` without one.
    /// `litellm_params.model` as configured, provider prefix included.
    pub fn litellm_model(&self) -> Option<String> {
        self.param("model").and_then(Value::as_str).map(str::to_string)
    }

    pub fn provider(&self) -> String {
        let model = self.param("model").and_then(Value::as_str).unwrap_or(&self.model_name);
        model.split_once('/').map_or("openai", |(provider, _)| provider).to_string()
    }

    /// The config access groups this deployment belongs to (`model_info.access_groups`).
    pub fn access_groups(&self) -> Vec<String> {
        self.model_info
            .get("access_groups")
            .and_then(Value::as_array)
            .map(|groups| groups.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// The row as `/model/info` shows it: `api_key` withheld, `model_info.id` set.
    pub fn public_view(&self) -> Value {
        let mut params = self.litellm_params.clone();
        if let Value::Object(map) = &mut params {
            map.remove("api_key");
        }
        let mut info = self.model_info.clone();
        if let Value::Object(map) = &mut info {
            map.insert("id".into(), Value::String(self.model_id.clone()));
            map.insert("db_model".into(), Value::Bool(true));
        }
        serde_json::json!({"model_name": self.model_name, "litellm_params": params, "model_info": info})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(params: Value, info: Value) -> Deployment {
        Deployment {
            model_id: "m1".into(),
            model_name: "gpt-a".into(),
            litellm_params: params,
            model_info: info,
            created_by: None,
            updated_by: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_upstream_is_api_base_with_the_provider_prefix_dropped() {
        let d = deployment(
            json!({"model": "openai/gpt-x", "api_base": "http://127.0.0.1:9/v1/", "api_key": "sk-up"}),
            json!({}),
        );
        assert_eq!(
            d.upstream(),
            Some(Upstream {
                base: "http://127.0.0.1:9/v1".into(),
                api_key: Some("sk-up".into()),
                model: "gpt-x".into()
            })
        );
        assert_eq!(deployment(json!({"model": "openai/gpt-x"}), json!({})).upstream(), None);
    }

    #[test]
    fn pricing_comes_from_params_then_model_info() {
        let d = deployment(json!({"input_cost_per_token": 0.001, "output_cost_per_token": 0.002}), json!({}));
        assert_eq!(d.pricing().cost(10, 20), 10.0 * 0.001 + 20.0 * 0.002);
        let d = deployment(json!({}), json!({"input_cost_per_token": 0.5}));
        assert_eq!(d.pricing().cost(2, 3), 1.0);
        assert!(!d.pricing().explicitly_free);
        let free = deployment(json!({"input_cost_per_token": 0, "output_cost_per_token": 0.0}), json!({}));
        assert!(free.pricing().explicitly_free);
        assert!(!deployment(json!({}), json!({})).pricing().explicitly_free, "no pricing is not free");
    }

    #[test]
    fn the_public_view_withholds_the_api_key() {
        let d = deployment(json!({"model": "openai/gpt-x", "api_key": "sk-up"}), json!({"access_groups": ["g"]}));
        let view = d.public_view();
        assert_eq!(view["litellm_params"], json!({"model": "openai/gpt-x"}));
        assert_eq!(view["model_info"]["id"], "m1");
        assert_eq!(d.access_groups(), ["g"]);
    }
}
