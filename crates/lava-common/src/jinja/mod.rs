//! LAVA 2023's Jinja2 device dictionaries and device-type templates, rendered with MiniJinja.
//!
//! A LAVA lab describes a device as a dictionary (`devices/NAME.jinja2`: `{% extends
//! 'beaglebone-black.jinja2' %}` and `{% set connection_command = … %}`) over device-type
//! templates (`device-types/*.jinja2`, `base-uboot.jinja2` and `base.jinja2` below them). LAVA
//! renders the dictionary with the job's `context` as template variables into the device's
//! YAML. [`Renderer`] does the same with the settings LAVA's server uses (a sandboxed
//! environment, `trim_blocks`, no autoescape, Jinja2's lenient undefined values) and prints
//! values as Python does ([`python`]), so the text is LAVA's byte for byte; the device
//! module reads the YAML into the one device model.
//!
//! Templates are found by name in a search path: the dictionary's own directory first, then
//! the device-type directories ([`search_path`]). A template name is a plain file name
//! ending in `.jinja2`; a template is at most [`MAX_TEMPLATE_BYTES`], and a render runs on a
//! bounded amount of work (MiniJinja's fuel) and nesting, so a job's `context` cannot make it
//! run away.

mod error;
pub mod python;

use std::path::{Path, PathBuf};

use minijinja::value::Value;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Map;

pub use error::{RenderError, TemplateFault};

use crate::host_paths::HostPaths;

/// The largest template file read.
pub const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// The work one render may do, in MiniJinja's instructions (LAVA's largest device types
/// need about 20,000).
const FUEL: u64 = 5_000_000;

/// The most a render may write: LAVA's device YAML is tens of KiB, and a loop in a template
/// fed a job's context must not fill memory.
pub const MAX_RENDER_BYTES: usize = 1024 * 1024;

/// The render's output, refusing to grow past [`MAX_RENDER_BYTES`].
#[derive(Default)]
struct Bounded {
    buf: Vec<u8>,
    over: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + bytes.len() > MAX_RENDER_BYTES {
            self.over = true;
            return Err(std::io::Error::other("the render is too large"));
        }
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How deeply templates may extend, include and call each other.
const RECURSION_LIMIT: usize = 100;

/// Where device-type templates are looked for, after the dictionary's own directory:
/// this dispatcher's `device-types/` (beside the `.conf` types), then LAVA 2023's places,
/// `/etc/lava-server/dispatcher-config/device-types` (a lab's own and changed types) and
/// `/usr/share/lava-server/device-types` (the types LAVA ships), all below `LAVA_ROOT`.
pub fn search_path(host: &HostPaths) -> Vec<PathBuf> {
    vec![
        host.dispatcher_etc.join("device-types"),
        host.root
            .join("etc/lava-server/dispatcher-config/device-types"),
        host.root.join("usr/share/lava-server/device-types"),
    ]
}

/// Renders device dictionaries and device-type templates found in a search path.
pub struct Renderer {
    env: Environment<'static>,
    dirs: Vec<PathBuf>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("dirs", &self.dirs)
            .finish()
    }
}

impl Renderer {
    /// A renderer that finds templates in `dirs`, first match wins (LAVA's
    /// `FileSystemLoader` order: the devices directory, then the device-type directories).
    pub fn new(dirs: Vec<PathBuf>) -> Renderer {
        let mut env = Environment::new();
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .build()
                .unwrap_or_default(),
        );
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_fuel(Some(FUEL));
        // Errors carry the span of the expression at fault without the debug dump.
        env.set_debug(false);
        env.set_recursion_limit(RECURSION_LIMIT);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        // `debug` is a MiniJinja global Jinja2 does not have: LAVA's templates use the name
        // as a variable (`{{ debug|default('debug') }}`).
        env.remove_global("debug");
        env.set_formatter(|out, _state, value| {
            out.write_str(&python::str_of(value))
                .map_err(minijinja::Error::from)
        });
        env.add_filter("string", |value: Value| python::str_of(&value));
        let search = dirs.clone();
        env.set_loader(move |name| load(&search, name));
        Renderer { env, dirs }
    }

    /// A renderer for the dictionary at `dictionary`: its own directory, then `types`.
    pub fn for_dictionary(dictionary: &Path, types: &[PathBuf]) -> Renderer {
        let mut dirs = vec![
            dictionary
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
        ];
        dirs.extend(types.iter().cloned());
        Renderer::new(dirs)
    }

    /// The directories searched, in order.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Renders template `name` (`bbb-01.jinja2`) with `context` as its variables, as LAVA
    /// renders a device dictionary with a job's context.
    pub fn render(
        &self,
        name: &str,
        context: &Map<String, serde_json::Value>,
    ) -> Result<String, RenderError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| self.error(name, e))?;
        let vars = Value::from_object(
            context
                .iter()
                .map(|(k, v)| (Value::from(k.as_str()), to_value(v)))
                .collect::<indexmap::IndexMap<Value, Value>>(),
        );
        let mut out = Bounded::default();
        match template.render_captured_to(vars, &mut out) {
            Ok(_) => String::from_utf8(out.buf).map_err(|e| {
                self.error(
                    name,
                    minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string()),
                )
            }),
            Err(_) if out.over => Err(RenderError::TooLarge {
                template: name.to_string(),
                limit: MAX_RENDER_BYTES,
            }),
            Err(e) => Err(self.error(name, e)),
        }
    }

    /// A render error naming the template, line and the expression at fault.
    fn error(&self, rendered: &str, e: minijinja::Error) -> RenderError {
        if let Some(io) =
            std::error::Error::source(&e).and_then(|s| s.downcast_ref::<error::LoadError>())
        {
            return RenderError::Load(io.clone());
        }
        let template = e.name().unwrap_or(rendered).to_string();
        let expression = e.range().and_then(|range| {
            let source = self.env.get_template(&template).ok()?.source().to_string();
            source.get(range).map(|s| s.trim().to_string())
        });
        RenderError::Template(Box::new(TemplateFault {
            template,
            line: e.line(),
            kind: e.kind().to_string(),
            detail: e.detail().map(str::to_string),
            expression: expression.filter(|s| !s.is_empty()),
            searched: self.dirs.clone(),
        }))
    }
}

/// Loads template `name` from the first directory that has it; `None` when none has.
fn load(dirs: &[PathBuf], name: &str) -> Result<Option<String>, minijinja::Error> {
    let bad = |why: &str| {
        minijinja::Error::new(minijinja::ErrorKind::TemplateNotFound, "bad template name")
            .with_source(error::LoadError::BadName {
                name: name.to_string(),
                why: why.to_string(),
            })
    };
    if !name.ends_with(".jinja2") {
        return Err(bad("a template name ends in .jinja2"));
    }
    if name.len() > 255
        || name.starts_with('.')
        || name.contains(['/', '\\', '\0'])
        || name.chars().any(char::is_control)
    {
        return Err(bad("a template name is a plain file name"));
    }
    for dir in dirs {
        let path = dir.join(name);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&path, &e)),
        };
        if meta.len() > MAX_TEMPLATE_BYTES {
            return Err(minijinja::Error::new(
                minijinja::ErrorKind::TemplateNotFound,
                "template too large",
            )
            .with_source(error::LoadError::TooLarge {
                path,
                bytes: meta.len(),
            }));
        }
        return std::fs::read_to_string(&path)
            .map(Some)
            .map_err(|e| io_error(&path, &e));
    }
    Ok(None)
}

fn io_error(path: &Path, e: &std::io::Error) -> minijinja::Error {
    minijinja::Error::new(minijinja::ErrorKind::TemplateNotFound, "cannot read").with_source(
        error::LoadError::Read {
            path: path.to_path_buf(),
            why: e.to_string(),
        },
    )
}

/// A JSON value (a job's `context`) as a template value; mappings keep their order.
pub fn to_value(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::from(()),
        J::Bool(b) => Value::from(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::from(s.as_str()),
        J::Array(items) => Value::from(items.iter().map(to_value).collect::<Vec<_>>()),
        J::Object(map) => Value::from_object(
            map.iter()
                .map(|(k, v)| (Value::from(k.as_str()), to_value(v)))
                .collect::<indexmap::IndexMap<Value, Value>>(),
        ),
    }
}

#[cfg(test)]
mod tests;
