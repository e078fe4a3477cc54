//! Logging in after a boot and preparing the shell: the job's `auto_login` or the device's
//! `login_prompt`/`username`/`password`, then a prompt the dispatcher sets itself.

use lava_common::job::Boot;
use regex::bytes::Regex;

use crate::job::{Ctx, Failure, SET_PROMPT, pattern, prompt_regex};

/// The shell prompt looked for when neither the job nor the device names one.
pub const DEFAULT_PROMPT: &str = r"[#$] ";

/// What a kernel prints when it will not get to a login prompt.
const KERNEL_PANIC: &str = r"Kernel panic - not syncing[^\r\n]*";

/// Waits for one of `patterns` while the kernel boots; a kernel panic fails the boot at
/// once, naming it.
async fn boot_wait(ctx: &mut Ctx, action: &str, patterns: &[Regex]) -> Result<(), Failure> {
    let mut all = patterns.to_vec();
    all.push(pattern(action, "kernel panic", KERNEL_PANIC)?);
    let m = ctx.expect(action, &all).await?;
    if m.index == patterns.len() {
        return Err(Failure::infra(
            action,
            format!("the kernel panicked: {}", m.matched.trim()),
        ));
    }
    Ok(())
}

/// Logs in (when a login prompt is known), waits for a shell prompt, and sets
/// [`crate::job::SHELL_PROMPT`].
pub async fn login(ctx: &mut Ctx, action: &str, b: &Boot) -> Result<(), Failure> {
    let (login_prompt, username, password_prompt, password, commands) = match &b.auto_login {
        Some(a) => (
            Some(a.login_prompt.clone()),
            Some(a.username.clone()),
            a.password_prompt.clone(),
            a.password.clone(),
            a.login_commands.clone(),
        ),
        // A LAVA YAML job without auto_login logs in nowhere; a seed-era job uses the
        // device's settings, as the old dispatcher did.
        None if b.prompts.is_empty() => {
            let l = &ctx.device.login;
            (
                l.login_prompt.clone(),
                l.username.clone(),
                l.password_prompt.clone(),
                l.password.clone().filter(|p| !p.is_empty()),
                Vec::new(),
            )
        }
        None => (None, None, None, None, Vec::new()),
    };
    if let Some(lp) = login_prompt.filter(|p| !p.is_empty()) {
        let re = pattern(action, "login_prompt", &regex::escape(&lp))?;
        boot_wait(ctx, action, &[re]).await?;
        let user = username
            .ok_or_else(|| Failure::config(action, "a login prompt is set but no username"))?;
        ctx.sendline(action, &user).await?;
        if let Some(pw) = password {
            let pp = password_prompt.unwrap_or_else(|| "Password:".to_string());
            let re = pattern(action, "password_prompt", &regex::escape(&pp))?;
            ctx.expect(action, &[re]).await?;
            ctx.sendline(action, &pw).await?;
        }
    }
    let prompts: Vec<Regex> = if b.prompts.is_empty() {
        let p = ctx
            .device
            .login
            .shell_prompt
            .clone()
            .unwrap_or_else(|| DEFAULT_PROMPT.to_string());
        vec![pattern(action, "test_shell_prompt", &p)?]
    } else {
        b.prompts
            .iter()
            .map(|p| pattern(action, "prompt", p))
            .collect::<Result<_, _>>()?
    };
    boot_wait(ctx, action, &prompts).await?;
    for c in &commands {
        ctx.sendline(action, c).await?;
        ctx.expect(action, &prompts).await?;
    }
    ctx.sendline(action, SET_PROMPT).await?;
    ctx.expect(action, &[prompt_regex()]).await?;
    ctx.shell_ready = true;
    ctx.log.info("the shell is ready");
    Ok(())
}
