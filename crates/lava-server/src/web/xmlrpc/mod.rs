//! XML-RPC at `/RPC2`, as LAVA 2023.01 answers it, so Debian's `lavacli` works unchanged.
//!
//! The HTTP side (Basic `user:token` auth, 400/401 replies, faults in HTTP 200) is here; the
//! wire format is in [`codec`], the method groups in their own files.

mod admin;
pub mod args;
pub mod codec;
mod decode;
mod devices;
mod files;
mod jobs;
mod legacy;
pub mod methods;
mod results;
pub mod ser;
mod system;
mod tags;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine as _;
use tracing::Instrument as _;

use super::AppState;
use super::auth::{Caller, by_user_token};
use args::Args;
use codec::Value;

/// An XML-RPC fault: LAVA's HTTP-like codes (400, 401, 403, 404) or the protocol's own.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// `faultCode`.
    pub code: i64,
    /// `faultString`.
    pub message: String,
}

impl Fault {
    /// A fault with `code` and `message`.
    pub fn new(code: i64, message: impl Into<String>) -> Fault {
        Fault {
            code,
            message: message.into(),
        }
    }

    /// Any unexpected server error, as LAVA words it.
    pub fn internal(detail: impl std::fmt::Display) -> Fault {
        Fault::new(
            -32603,
            format!("Internal Server Error (contact server administrator for details): {detail}"),
        )
    }

    /// A write method called without credentials.
    pub fn anonymous() -> Fault {
        Fault::new(
            401,
            "Authentication with user and token required for this API.",
        )
    }

    /// The job does not exist or the caller may not see it: the same words either way.
    pub fn job_not_found(id: impl std::fmt::Display) -> Fault {
        Fault::new(404, format!("Job '{id}' was not found."))
    }
}

impl From<lava_db::Error> for Fault {
    fn from(e: lava_db::Error) -> Fault {
        tracing::error!(error = %e, "XML-RPC database error");
        Fault::internal(e)
    }
}

impl From<ser::SerError> for Fault {
    fn from(e: ser::SerError) -> Fault {
        tracing::error!(error = %e, "XML-RPC reply not encodable");
        Fault::internal(e)
    }
}

impl From<super::error::ApiError> for Fault {
    fn from(e: super::error::ApiError) -> Fault {
        if e.status == StatusCode::SERVICE_UNAVAILABLE {
            return Fault::new(BUSY, e.text());
        }
        Fault::internal(e.body)
    }
}

/// The code of the one fault that is not sent as a fault: the server could not serve the
/// call now (no database connection in time). It goes out as HTTP 503, which lavacli's
/// follow loops retry and scripts see as a server error, not as an answer about the job.
const BUSY: i64 = 503;

/// What a method gets: the app and the authenticated caller, if any.
pub struct Ctx {
    /// The app.
    pub state: AppState,
    /// The caller (`None`: anonymous).
    pub caller: Option<Caller>,
    /// `http://host` as the client called it, for the URLs in replies.
    pub base: String,
}

impl Ctx {
    /// The caller, or the 401 fault of write methods.
    pub fn user(&self) -> Result<&Caller, Fault> {
        self.caller.as_ref().ok_or_else(Fault::anonymous)
    }

    /// Who may see what.
    pub fn viewer(&self) -> lava_db::viewer::Viewer {
        super::auth::viewer_of(self.caller.as_ref())
    }

    /// A pooled database connection.
    pub async fn db(&self) -> Result<lava_db::PooledClient, Fault> {
        Ok(self.state.db().await?)
    }
}

/// The `/RPC2` route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/RPC2", get(help).post(rpc))
}

/// A browser (or an empty POST) goes to the method list page, as in LAVA.
async fn help() -> Redirect {
    Redirect::to("/api/help/")
}

async fn rpc(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if body.is_empty() {
        return help().await.into_response();
    }
    let caller = match basic_auth(&state, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let reply: Result<Body, Fault> = match codec::parse_call(&body) {
        Ok((method, params)) => {
            let span = tracing::debug_span!("xmlrpc", %method);
            let base = super::rest::base_url(&headers);
            let ctx = Ctx {
                state,
                caller,
                base,
            };
            let args = Args::new(&method, params);
            async {
                // The one reply that may be big is streamed rather than built.
                if method == "scheduler.jobs.logs" {
                    jobs::logs(&ctx, args).await
                } else {
                    dispatch(&ctx, &method, args)
                        .await
                        .map(|v| Body::from(codec::response(&v)))
                }
            }
            .instrument(span)
            .await
        }
        Err(e @ codec::DecodeError::TooDeep) => {
            Err(Fault::new(400, format!("Unable to decode request: {e}")))
        }
        Err(e) => {
            tracing::debug!(error = %e, "XML-RPC request not decoded");
            Err(Fault::new(-32603, "Unable to decode request"))
        }
    };
    let xml = match reply {
        Ok(body) => body,
        Err(f) if f.code == BUSY => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (super::error::RETRY_AFTER, "5"),
                ],
                f.message,
            )
                .into_response();
        }
        Err(f) => Body::from(codec::fault(f.code, &f.message)),
    };
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The caller named by a Basic `username:token` header; no header is anonymous. A header that
/// cannot be read is a 400 and a wrong pair a 401 with `WWW-Authenticate`, so lavacli reports
/// "Unauthorized" rather than running anonymously.
async fn basic_auth(state: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or("");
    let Some((scheme, blob)) = value.trim().split_once(' ') else {
        return Err(text(
            StatusCode::BAD_REQUEST,
            "Invalid HTTP_AUTHORIZATION header, expected a scheme and credentials",
        ));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(text(
            StatusCode::BAD_REQUEST,
            "Unsupported HTTP_AUTHORIZATION header, only Basic scheme is supported",
        ));
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(blob.trim()) else {
        return Err(text(
            StatusCode::BAD_REQUEST,
            "Invalid HTTP_AUTHORIZATION header, credentials are not base64",
        ));
    };
    let decoded = String::from_utf8_lossy(&decoded);
    let Some((user, token)) = decoded.split_once(':') else {
        return Err(text(
            StatusCode::BAD_REQUEST,
            "Invalid HTTP_AUTHORIZATION header, no ':' between username and token",
        ));
    };
    match by_user_token(state, user, token).await {
        Ok(Some(c)) => Ok(Some(c)),
        Ok(None) => Err((
            StatusCode::UNAUTHORIZED,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::WWW_AUTHENTICATE,
                    "Basic realm=\"XML-RPC Authentication token\"",
                ),
            ],
            "Invalid token",
        )
            .into_response()),
        Err(e) => Err(e.into_response()),
    }
}

/// Refuses a caller the method's table row does not admit: LAVA's 401 for anonymous
/// callers, its 403 naming the permission for users without the role.
pub fn check_perm(m: &methods::Method, caller: Option<&Caller>) -> Result<(), Fault> {
    use methods::Perm;
    if m.perm == Perm::Anyone {
        return Ok(());
    }
    let user = caller.ok_or_else(Fault::anonymous)?;
    let allowed = match m.perm {
        Perm::Anyone | Perm::User => true,
        Perm::Staff => user.is_staff || user.is_superuser,
        Perm::Superuser => user.is_superuser,
    };
    if allowed {
        Ok(())
    } else {
        Err(Fault::new(
            403,
            format!(
                "User '{}' is missing permission {} .",
                user.username,
                if m.lava_perm.is_empty() {
                    "lava_scheduler_app.superuser"
                } else {
                    m.lava_perm
                }
            ),
        ))
    }
}

async fn dispatch(ctx: &Ctx, method: &str, a: Args) -> Result<Value, Fault> {
    let Some(m) = methods::find(method) else {
        return Err(Fault::new(-32601, format!("No such method: '{method}'")));
    };
    check_perm(m, ctx.caller.as_ref())?;
    match method {
        "system.listMethods" => Ok(Value::Array(
            methods::METHODS
                .iter()
                .map(|m| Value::str(m.name))
                .collect(),
        )),
        "system.methodHelp" => system::method_help(a),
        "system.methodSignature" => system::method_signature(a),
        "system.version" => Ok(Value::str(super::rest::API_VERSION)),
        "system.api_version" => Ok(Value::Int(2)),
        "system.whoami" => system::whoami(ctx),
        "system.get_master_certificate" => Err(system::no_certificates()),
        "scheduler.get_publisher_event_socket" => system::publisher_socket(ctx),
        "results.get_testjob_results_yaml" => results::job(ctx, a).await,
        "results.get_testsuite_results_yaml" => results::suite(ctx, a).await,
        "results.get_testcase_results_yaml" => results::case(ctx, a).await,
        "scheduler.jobs.submit" | "scheduler.submit_job" => jobs::submit(ctx, a).await,
        "scheduler.jobs.show" => jobs::show(ctx, a).await,
        "scheduler.jobs.list" => jobs::list(ctx, a).await,
        "scheduler.jobs.queue" => jobs::queue(ctx, a).await,
        "scheduler.jobs.configuration" => files::job_configuration(ctx, a).await,
        "scheduler.jobs.cancel" | "scheduler.cancel_job" => jobs::cancel(ctx, a).await,
        "scheduler.jobs.resubmit" => jobs::resubmit(ctx, a).await,
        "scheduler.jobs.definition" => jobs::definition(ctx, a).await,
        "scheduler.jobs.validate" => jobs::validate(a),
        "scheduler.devices.list" => devices::list(ctx, a).await,
        "scheduler.devices.show" => devices::show(ctx, a).await,
        "scheduler.devices.add" => admin::device_add(ctx, a).await,
        "scheduler.devices.update" => admin::device_update(ctx, a).await,
        "scheduler.devices.get_dictionary" => files::get_dictionary(ctx, a).await,
        "scheduler.devices.set_dictionary" => files::set_dictionary(ctx, a).await,
        "scheduler.devices.tags.list" => tags::device_list(ctx, a).await,
        "scheduler.devices.tags.add" => tags::device_add(ctx, a).await,
        "scheduler.devices.tags.delete" => tags::device_delete(ctx, a).await,
        "scheduler.device_types.list" => devices::types_list(ctx, a).await,
        "scheduler.device_types.show" => devices::types_show(ctx, a).await,
        "scheduler.device_types.add" => admin::type_add(ctx, a).await,
        "scheduler.device_types.update" => admin::type_update(ctx, a).await,
        "scheduler.device_types.get_template" => files::get_template(ctx, a).await,
        "scheduler.device_types.set_template" => files::set_template(ctx, a).await,
        "scheduler.device_types.get_health_check" => files::get_health_check(ctx, a).await,
        "scheduler.device_types.set_health_check" => files::set_health_check(ctx, a).await,
        "scheduler.device_types.aliases.list" => tags::type_aliases(ctx, a).await,
        "scheduler.device_types.aliases.add" => tags::type_alias_add(ctx, a).await,
        "scheduler.device_types.aliases.delete" => tags::type_alias_delete(ctx, a).await,
        "scheduler.aliases.list" => tags::aliases(ctx).await,
        "scheduler.aliases.show" => tags::alias_show(ctx, a).await,
        "scheduler.aliases.add" => tags::alias_add(ctx, a).await,
        "scheduler.aliases.delete" => tags::alias_delete(ctx, a).await,
        "scheduler.tags.list" => tags::list(ctx).await,
        "scheduler.tags.show" => tags::show(ctx, a).await,
        "scheduler.tags.add" => tags::add(ctx, a).await,
        "scheduler.tags.delete" => tags::delete(ctx, a).await,
        "scheduler.workers.list" => devices::workers_list(ctx).await,
        "scheduler.workers.show" => devices::workers_show(ctx, a).await,
        "scheduler.workers.add" => admin::worker_add(ctx, a).await,
        "scheduler.workers.update" => admin::worker_update(ctx, a).await,
        "scheduler.workers.get_config" => {
            files::get_worker_file(ctx, a, files::WorkerFile::Config).await
        }
        "scheduler.workers.set_config" => {
            files::set_worker_file(ctx, a, files::WorkerFile::Config).await
        }
        "scheduler.workers.get_env" => files::get_worker_file(ctx, a, files::WorkerFile::Env).await,
        "scheduler.workers.set_env" => files::set_worker_file(ctx, a, files::WorkerFile::Env).await,
        "scheduler.workers.get_certificate" | "scheduler.workers.set_certificate" => {
            admin::worker_certificate(ctx, a).await
        }
        "scheduler.job_status" => legacy::job_status(ctx, a).await,
        "scheduler.all_devices" => legacy::all_devices(ctx).await,
        "scheduler.all_device_types" => legacy::all_device_types(ctx).await,
        "dashboard.streams" => legacy::streams(ctx).await,
        "dashboard.make_stream" => legacy::make_stream(ctx, a).await,
        "dashboard.put" => legacy::put(ctx, a).await,
        "dashboard.get" => legacy::get(ctx, a).await,
        _ => Err(Fault::internal(format!(
            "method '{method}' is in the table but has no handler"
        ))),
    }
}
