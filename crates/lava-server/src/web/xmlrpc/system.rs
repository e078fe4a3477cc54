//! `system.*` methods that need more than a constant, and the event socket's address.

use super::args::Args;
use super::codec::Value;
use super::methods;
use super::{Ctx, Fault};

/// `system.whoami()`: the caller's username, nil when anonymous.
pub fn whoami(ctx: &Ctx) -> Result<Value, Fault> {
    Ok(Value::opt_str(
        ctx.caller.as_ref().map(|c| c.username.clone()),
    ))
}

fn method_named(a: &Args) -> Result<&'static methods::Method, Fault> {
    let name = a.string(0, "method_name")?;
    methods::find(&name).ok_or_else(|| Fault::new(-32601, format!("No such method: '{name}'")))
}

/// `system.methodHelp(method_name)`: the table's words for it.
pub fn method_help(a: Args) -> Result<Value, Fault> {
    Ok(Value::str(methods::help_text(method_named(&a)?)))
}

/// `system.methodSignature(method_name)`: `[[result type, argument types…]]`.
pub fn method_signature(a: Args) -> Result<Value, Fault> {
    let m = method_named(&a)?;
    Ok(Value::Array(vec![Value::Array(
        m.signature.iter().map(|t| Value::str(*t)).collect(),
    )]))
}

/// The fault of the ZeroMQ certificate methods: there are none to give.
pub fn no_certificates() -> Fault {
    Fault::new(
        404,
        "There are no ZeroMQ certificates: workers talk HTTP and authenticate with their token",
    )
}

/// `scheduler.get_publisher_event_socket()`: where the event publisher listens, as
/// `lavacli events` expects it (a `*` host is replaced by the server's host there).
pub fn publisher_socket(ctx: &Ctx) -> Result<Value, Fault> {
    Ok(Value::str(ctx.state.events.announced()))
}
