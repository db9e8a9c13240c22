//! projects.get_all, projects.get_by_id, projects.create.

use serde_json::{json, Value};

use super::Req;
use crate::standin::api::{ApiError, Kw};
use crate::standin::model::{State, COMPANY_ID};
use crate::standin::query::{self, Filter};

pub fn get_all(state: &State, req: &Req) -> Result<Value, ApiError> {
    let filter = Filter::parse(req.raw(), &query::PROJECTS, true)?;
    let docs = state
        .projects
        .iter()
        .filter(|p| filter.matches(p))
        .cloned()
        .collect();
    Ok(json!({"projects": query::finish(docs, req.raw())?}))
}

pub fn get_by_id(state: &State, req: &Req) -> Result<Value, ApiError> {
    let id = req.required_str("project")?;
    let p = state
        .project(&id)
        .ok_or_else(|| ApiError::invalid_project_id(&id))?;
    Ok(json!({"project": p}))
}

/// Normalise "a / b/" to "a/b" like clearml-server's `_validate_project_name`.
pub fn normalize_name(name: &str) -> Result<String, ApiError> {
    let parts: Vec<&str> = name
        .split('/')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(ApiError::invalid_project_name(name));
    }
    Ok(parts.join("/"))
}

pub fn create(state: &mut State, req: &Req) -> Result<Value, ApiError> {
    // projects.create is registered with required_fields=["name"]: 400/11, not 400/12.
    if !req.raw().contains_key("name") {
        return Err(ApiError::missing_required_fields(&["name".into()]));
    }
    let name = normalize_name(&req.opt_str("name")?.unwrap_or_default())?;
    // `_get_basename_from_name` for the project and each parent `_ensure_project` creates:
    // a part under `Project.min_name_length` (3) characters is refused.
    if name.split('/').any(|part| part.chars().count() < 3) {
        return Err(ApiError::validation("Project name cannot be blank"));
    }
    if state.project_by_name(&name).is_some() {
        return Err(ApiError::expected_unique_data(
            "Project with the same name already exists",
            &[Kw::S("name", &name), Kw::S("company", COMPANY_ID)],
        ));
    }
    let description = req.opt_str("description")?.unwrap_or_default();
    let tags = req.opt_str_list("tags")?.unwrap_or_default();
    let system_tags = req.opt_str_list("system_tags")?.unwrap_or_default();
    let id = state.insert_project(None, &name, &description, tags, system_tags);
    Ok(json!({"id": id}))
}
