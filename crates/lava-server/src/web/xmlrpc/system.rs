//! `system.*` methods that need more than a constant.

use super::codec::Value;
use super::{Ctx, Fault};

/// `system.whoami()`: the caller's username, nil when anonymous.
pub fn whoami(ctx: &Ctx) -> Result<Value, Fault> {
    Ok(Value::opt_str(
        ctx.caller.as_ref().map(|c| c.username.clone()),
    ))
}
