//! Why a device dictionary did not render.

use std::fmt;
use std::path::PathBuf;

/// A template that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// A name that is not a plain `NAME.jinja2` file name (`{% extends '../x.jinja2' %}`).
    #[error("template name {name:?} refused: {why}")]
    BadName {
        /// The name as written.
        name: String,
        /// The rule of template names it breaks (a plain file name ending in `.jinja2`).
        why: String,
    },
    /// A file larger than [`super::MAX_TEMPLATE_BYTES`].
    #[error("{}: {bytes} bytes, more than a template may have (1 MiB)", .path.display())]
    TooLarge {
        /// The template file, refused before it is read.
        path: PathBuf,
        /// Its size on disk.
        bytes: u64,
    },
    /// A file that exists but cannot be read.
    #[error("cannot read {}: {why}", .path.display())]
    Read {
        /// The template file.
        path: PathBuf,
        /// The operating system's error, as text (the error is `Clone`).
        why: String,
    },
}

/// Why a device dictionary did not render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A template file could not be read.
    #[error(transparent)]
    Load(LoadError),
    /// The template language refused it: a syntax error, a missing template, an undefined
    /// value used where a value is needed, a render that ran out of work.
    #[error("{0}")]
    Template(Box<TemplateFault>),
    /// The render wrote more than [`super::MAX_RENDER_BYTES`].
    #[error(
        "{template}: the render is larger than {limit} bytes, more than a device's YAML may be"
    )]
    TooLarge {
        /// The template rendered.
        template: String,
        /// [`super::MAX_RENDER_BYTES`], named in the message.
        limit: usize,
    },
}

/// Where and why a template did not render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFault {
    /// The template at fault (`beaglebone-black.jinja2`).
    pub template: String,
    /// Its line, when known.
    pub line: Option<usize>,
    /// What kind of problem (`undefined value`, `syntax error`, …).
    pub kind: String,
    /// The template engine's own explanation, when it says more than the kind.
    pub detail: Option<String>,
    /// The text of the expression at fault (`connection_commands.get(hardware)`).
    pub expression: Option<String>,
    /// The directories templates were looked for in.
    pub searched: Vec<PathBuf>,
}

impl fmt::Display for TemplateFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TemplateFault {
            template,
            line,
            kind,
            detail,
            expression,
            searched,
        } = self;
        write!(f, "{template}")?;
        if let Some(line) = line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {kind}")?;
        if let Some(detail) = detail {
            write!(f, ": {detail}")?;
        }
        if let Some(expression) = expression {
            write!(f, " (in `{expression}`)")?;
        }
        if kind.contains("not found") {
            let dirs: Vec<String> = searched.iter().map(|d| d.display().to_string()).collect();
            write!(f, "; looked in {}", dirs.join(", "))?;
        }
        Ok(())
    }
}
