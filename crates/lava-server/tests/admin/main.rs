//! Accounts, the admin interface and the web submit form over HTTP, against the real web app
//! on a test database: logins, the CSRF checks of every form in the one table of form posts,
//! and that each admin change lands in the database with who and why.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod authority;
mod changes;
mod client;
mod failure_tags;
mod forms;
mod rest_writes;
mod throttle;
