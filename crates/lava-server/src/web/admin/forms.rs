//! The one table of form posts. Every mutating form of the web app is registered here and
//! nowhere else, so the list that the CSRF tests walk is the list the router serves: a new
//! form added to the table is tested, and one left out of it is not reachable.
//! Every handler listed takes a [`super::guard::FormPost`], which checks the login, staff
//! rights where needed, and the CSRF token before the handler runs.

use axum::Router;
use axum::routing::post;

use super::super::AppState;
use super::super::{accounts, submit_form};
use super::{device_types, devices, failure_tags, groups, jobs, tokens, users, workers};

/// Who may post a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Any logged-in user.
    User,
    /// Staff only.
    Staff,
}

macro_rules! forms {
    ($($path:literal, $who:ident => $handler:path;)*) => {
        /// Every form post: its path (with `{parameters}`) and who may post it.
        pub const FORMS: &[(&str, Who)] = &[$(($path, Who::$who)),*];

        /// Adds every form post to `router`.
        pub fn routes(router: Router<AppState>) -> Router<AppState> {
            router$(.route($path, post($handler)))*
        }
    };
}

forms! {
    "/accounts/logout/", User => accounts::logout;
    "/scheduler/jobsubmit", User => submit_form::post;
    "/api/tokens/", User => tokens::create_own;
    "/api/tokens/{token}/delete", User => tokens::delete_own;
    "/admin/devices/{device}/health", Staff => devices::set_health;
    "/admin/devices/{device}/worker", Staff => devices::set_worker;
    "/admin/devices/{device}/tags", Staff => devices::set_tags;
    "/admin/device-types/{device_type}/health-check", Staff => device_types::set_health_check;
    "/admin/failure-tags/add", Staff => failure_tags::add;
    "/admin/failure-tags/{tag}", Staff => failure_tags::update;
    "/admin/failure-tags/{tag}/delete", Staff => failure_tags::delete;
    "/admin/jobs/{job}/cancel", Staff => jobs::cancel;
    "/admin/jobs/{job}/resubmit", Staff => jobs::resubmit;
    "/admin/jobs/{job}/priority", Staff => jobs::priority;
    "/admin/workers/{worker}", Staff => workers::update;
    "/admin/workers/{worker}/approve", Staff => workers::approve;
    "/admin/users/add", Staff => users::add;
    "/admin/users/{username}", Staff => users::update;
    "/admin/users/{username}/password", Staff => users::password;
    "/admin/users/{username}/groups", Staff => groups::membership;
    "/admin/groups/add", Staff => groups::add_group;
    "/admin/tokens/add", Staff => tokens::create_for;
    "/admin/tokens/{token}/delete", Staff => tokens::delete_any;
}
