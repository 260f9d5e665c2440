//! The OpenAPI 3.1 document, generated from the handlers and served at
//! `/api/v1/openapi.json`. `docs/openapi.json` is a copy that a test keeps identical.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    admin, auth_routes, bulletins, context, exercise, history, picture, push, reports, stream, ui,
};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "dronewatch",
        description = "Counter-drone awareness: the live picture, alerts, field reports and history of one dronewatch node. Strictly defensive: nothing here controls an effector.",
        license(name = "Apache-2.0"),
    ),
    paths(
        auth_routes::login, auth_routes::refresh, auth_routes::me,
        picture::tracks, picture::track, picture::alerts, picture::alert, picture::alert_action,
        picture::sensors, picture::agents, picture::warnings,
        reports::sighting, reports::photo, reports::position, reports::acknowledge_warning,
        reports::detection,
        history::events, history::export,
        admin::users, admin::create_user, admin::update_user, admin::delete_user,
        admin::create_device_token, admin::device_tokens, admin::revoke_device_token,
        admin::audit_trail, admin::verify,
        stream::stream, ui::ui_config, ui::basemap,
        context::zones, context::replace_zones, context::allow_list, context::replace_allow_list,
        exercise::status, exercise::start, exercise::end,
        bulletins::list, bulletins::publish, bulletins::acknowledge, bulletins::withdraw,
        bulletins::posture, super::delivery_status, super::redeliver,
        push::vapid_key, push::subscriptions, push::subscribe, push::unsubscribe,
    ),
    modifiers(&Bearer),
    tags(
        (name = "auth", description = "Logins and tokens"),
        (name = "picture", description = "The live picture"),
        (name = "alerts", description = "Alerts and operators' actions"),
        (name = "warnings", description = "Personal warnings to agents"),
        (name = "field", description = "What agents report"),
        (name = "sensors", description = "Sensors posting over HTTP"),
        (name = "history", description = "The event log: search and export"),
        (name = "admin", description = "Users, device tokens, audit, integrity"),
        (name = "exercise", description = "Training incidents, marked EXERCISE end to end"),
        (name = "bulletins", description = "Intelligence bulletins to agents and the sector posture they set"),
        (name = "push", description = "Web Push subscriptions of the field app"),
    )
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or dronewatch device token")
                    .build(),
            ),
        );
    }
}

/// The document as pretty JSON (what docs/openapi.json holds).
pub fn json() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.to_pretty_json().unwrap_or_default()
}

/// The OpenAPI 3.1 document of this API.
pub async fn document() -> Json<serde_json::Value> {
    Json(serde_json::from_str(&json()).unwrap_or_default())
}
