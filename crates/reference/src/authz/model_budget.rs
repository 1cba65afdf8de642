//! A key's per-model budgets (`model_max_budget`): `{model: {budget_limit, time_period}}`, also
//! spelled `{max_budget, budget_duration}` as LiteLLM's budget config accepts both.
//!
//! The budget of a call is the entry for the model that serves it, else the entry for that name
//! without its `provider/` prefix. It trips once the key's spend on that model within the period
//! reaches the limit (LiteLLM 1.109's comparison; 1.83 trips only above it), and it limits that
//! model alone: the key's other models stay usable.

use chrono::{DateTime, Months, TimeDelta, Utc};
use serde_json::Value;

use crate::duration::{self, Span};

/// One model's limit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ModelBudget {
    /// The name of the entry that applies.
    pub model: String,
    pub limit: f64,
    /// The spend window, a LiteLLM duration (`1d`, `30m`); `None` counts all spend.
    pub period: Option<String>,
}

/// Why a `model_max_budget` is refused, said as LiteLLM's validation says it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub(crate) enum ModelBudgetError {
    #[error("the budget for {0} is not an object")]
    NotAnObject(String),
    #[error("budget_limit of {0} is not a number")]
    LimitNotANumber(String),
    #[error("time_period of {model} is not a duration: {text}")]
    BadPeriod { model: String, text: String },
}

fn field<'v>(entry: &'v serde_json::Map<String, Value>, names: [&str; 2]) -> Option<&'v Value> {
    names.iter().find_map(|n| entry.get(*n)).filter(|v| !v.is_null())
}

/// Reads every entry; a map that is not an object is refused by the request's types before this.
pub(crate) fn parse(budgets: &Value) -> Result<Vec<ModelBudget>, ModelBudgetError> {
    let mut out = Vec::new();
    for (model, entry) in budgets.as_object().into_iter().flatten() {
        let entry = entry.as_object().ok_or_else(|| ModelBudgetError::NotAnObject(model.clone()))?;
        let limit = match field(entry, ["budget_limit", "max_budget"]) {
            None => None,
            // The management API sends the limit as a string as often as a number.
            Some(Value::String(s)) => {
                Some(s.trim().parse::<f64>().map_err(|_| ModelBudgetError::LimitNotANumber(model.clone()))?)
            }
            Some(v) => Some(v.as_f64().ok_or_else(|| ModelBudgetError::LimitNotANumber(model.clone()))?),
        };
        let period = match field(entry, ["time_period", "budget_duration"]) {
            None => None,
            Some(v) => {
                let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                duration::parse(&text)
                    .map_err(|_| ModelBudgetError::BadPeriod { model: model.clone(), text: text.clone() })?;
                Some(text)
            }
        };
        // No limit, or a negative one, limits nothing.
        if let Some(limit) = limit.filter(|l| l.is_finite() && *l >= 0.0) {
            out.push(ModelBudget { model: model.clone(), limit, period });
        }
    }
    Ok(out)
}

/// The budget that applies to a call served by `model`.
pub(crate) fn budget_for(budgets: &[ModelBudget], model: &str) -> Option<ModelBudget> {
    let bare = model.split_once('/').map(|(_, rest)| rest);
    budgets
        .iter()
        .find(|b| b.model == model)
        .or_else(|| bare.and_then(|m| budgets.iter().find(|b| b.model == m)))
        .cloned()
}

/// Where the budget's window starts at `now`: the period back from now, or the beginning of time.
pub(crate) fn window_start(budget: &ModelBudget, now: DateTime<Utc>) -> DateTime<Utc> {
    let earliest = DateTime::<Utc>::MIN_UTC;
    match budget.period.as_deref().map(duration::parse) {
        Some(Ok(Span::Seconds(s))) => {
            TimeDelta::try_seconds(s).and_then(|d| now.checked_sub_signed(d)).unwrap_or(earliest)
        }
        Some(Ok(Span::Months(m))) => now.checked_sub_months(Months::new(m)).unwrap_or(earliest),
        _ => earliest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn one(limit: f64, period: Option<&str>, model: &str) -> ModelBudget {
        ModelBudget { model: model.into(), limit, period: period.map(str::to_string) }
    }

    #[rstest]
    #[case::litellm_spelling(json!({"m": {"budget_limit": 0.5, "time_period": "1d"}}), vec![one(0.5, Some("1d"), "m")])]
    #[case::budget_config_spelling(json!({"m": {"max_budget": 2, "budget_duration": "30m"}}), vec![one(2.0, Some("30m"), "m")])]
    #[case::limit_as_a_string(json!({"m": {"budget_limit": "0.25"}}), vec![one(0.25, None, "m")])]
    #[case::no_limit_limits_nothing(json!({"m": {"time_period": "1d"}}), vec![])]
    #[case::negative_limits_nothing(json!({"m": {"budget_limit": -1}}), vec![])]
    #[case::zero_is_a_limit(json!({"m": {"budget_limit": 0}}), vec![one(0.0, None, "m")])]
    #[case::empty(json!({}), vec![])]
    fn parses(#[case] value: Value, #[case] expected: Vec<ModelBudget>) {
        assert_eq!(parse(&value), Ok(expected));
    }

    #[rstest]
    #[case::entry_not_an_object(json!({"m": 0.5}), ModelBudgetError::NotAnObject("m".into()))]
    #[case::limit_not_a_number(json!({"m": {"budget_limit": "lots"}}), ModelBudgetError::LimitNotANumber("m".into()))]
    #[case::period_not_a_duration(json!({"m": {"budget_limit": 1, "time_period": "soon"}}), ModelBudgetError::BadPeriod { model: "m".into(), text: "soon".into() })]
    fn refuses(#[case] value: Value, #[case] expected: ModelBudgetError) {
        assert_eq!(parse(&value), Err(expected));
    }

    #[rstest]
    #[case::exact("gpt-a", Some("gpt-a"))]
    #[case::without_provider("openai/gpt-b", Some("gpt-b"))]
    #[case::exact_before_bare("openai/gpt-a", Some("openai/gpt-a"))]
    #[case::other_model("gpt-c", None)]
    fn picks_the_entry(#[case] model: &str, #[case] entry: Option<&str>) {
        let budgets = vec![one(1.0, None, "gpt-a"), one(1.0, None, "gpt-b"), one(1.0, None, "openai/gpt-a")];
        assert_eq!(budget_for(&budgets, model).map(|b| b.model).as_deref(), entry);
    }

    #[test]
    fn the_window_is_the_period_back_from_now() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert_eq!(
            window_start(&one(1.0, Some("1h"), "m"), now),
            DateTime::from_timestamp(1_000_000 - 3600, 0).unwrap()
        );
        assert_eq!(window_start(&one(1.0, None, "m"), now), DateTime::<Utc>::MIN_UTC);
        assert!(window_start(&one(1.0, Some("1mo"), "m"), now) < now);
    }
}
