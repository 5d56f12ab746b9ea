//! The OpenAPI document: generated from the handlers' annotations, then completed with what
//! every operation shares ([`conventions`]) and the links between operations ([`links`]).

mod conventions;
mod links;
mod rules;

use super::{
    audit, backup, catalog, connectors, decisions, directory, drift, exports, grants, jira,
    lifecycle, ops, policies, requests, review, tokens,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The API description served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "clearance", description = "Governs access to AI tools for JSM organisations."),
    paths(
        requests::submit, requests::get_one, requests::list,
        review::approve, review::deny, review::bulk, review::queue,
        grants::list, grants::get_one, grants::fulfill, grants::revoke, grants::extend,
        grants::access, grants::jobs, grants::complete_job,
        grants::recerts, grants::keep, grants::recert_revoke,
        lifecycle::run_sweeps, lifecycle::escalations, lifecycle::insights,
        audit::events, audit::verify, audit::public_key, audit::checkpoints, audit::export,
        catalog::put, catalog::get_one, catalog::list, catalog::seed,
        directory::put_user, directory::get_user, directory::put_group,
        tokens::create, tokens::list, tokens::revoke,
        policies::active, policies::versions, policies::version, policies::reload,
        decisions::list, decisions::history, decisions::diff, decisions::replay,
        decisions::what_if,
        exports::requests, exports::grants,
        connectors::put, connectors::get_one, connectors::list, connectors::test,
        connectors::put_identity, connectors::identities, connectors::job, connectors::retry,
        connectors::escalations, connectors::run, connectors::check,
        jira::put, jira::get, jira::test, jira::deliveries, jira::retry, jira::run, jira::intake, drift::run, drift::list,
        ops::healthz, ops::readyz, ops::metrics, ops::openapi, backup::backup,
    ),
    components(schemas(crate::service::ExportFormat)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The document served at `/openapi.json`.
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    conventions::apply(&mut doc);
    rules::apply(&mut doc);
    links::apply(&mut doc);
    doc
}
