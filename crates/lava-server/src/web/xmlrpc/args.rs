//! Reading positional parameters the way LAVA's Python methods take them: missing required
//! ones are an internal fault naming the parameter, optional ones default, and job ids come
//! as strings (lavacli) or ints (scripts).

use super::Fault;
use super::codec::Value;
use lava_common::ids::JobId;

/// The parameters of one call.
pub struct Args {
    method: String,
    params: Vec<Value>,
}

impl Args {
    /// The parameters of `method`.
    pub fn new(method: &str, params: Vec<Value>) -> Args {
        Args {
            method: method.to_string(),
            params,
        }
    }

    fn missing(&self, name: &str) -> Fault {
        Fault::internal(format!(
            "{}() missing 1 required positional argument: '{name}'",
            self.method
        ))
    }

    fn wrong(&self, name: &str, want: &str) -> Fault {
        Fault::new(400, format!("{}: '{name}' must be {want}", self.method))
    }

    /// Parameter `i`, `None` when absent or nil.
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.params.get(i).filter(|v| **v != Value::Nil)
    }

    /// A required job id (`"213"` or `213`). A string that is no number names no job.
    pub fn job_id(&self, i: usize, name: &str) -> Result<JobId, Fault> {
        match self.params.get(i) {
            None => Err(self.missing(name)),
            Some(Value::Int(n)) => Ok(JobId(*n)),
            Some(Value::Str(s)) => (s.trim().parse())
                .map(JobId)
                .map_err(|_| Fault::job_not_found(s)),
            Some(other) => Err(Fault::job_not_found(format!("{other:?}"))),
        }
    }

    /// A required string.
    pub fn string(&self, i: usize, name: &str) -> Result<String, Fault> {
        match self.params.get(i) {
            None => Err(self.missing(name)),
            Some(Value::Str(s)) => Ok(s.clone()),
            Some(_) => Err(self.wrong(name, "a string")),
        }
    }

    /// An optional string.
    pub fn opt_string(&self, i: usize, name: &str) -> Result<Option<String>, Fault> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.wrong(name, "a string")),
        }
    }

    /// An optional integer (numeric strings accepted, as Python's `int()` does).
    pub fn opt_int(&self, i: usize, name: &str) -> Result<Option<i64>, Fault> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::Int(n)) => Ok(Some(*n)),
            Some(Value::Str(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.wrong(name, "an integer")),
            Some(_) => Err(self.wrong(name, "an integer")),
        }
    }

    /// An optional boolean (ints count, as in Python).
    pub fn flag(&self, i: usize, name: &str, default: bool) -> Result<bool, Fault> {
        match self.get(i) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Int(n)) => Ok(*n != 0),
            Some(_) => Err(self.wrong(name, "a boolean")),
        }
    }
}
