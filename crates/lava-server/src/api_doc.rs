//! `docs/api.md`, the users' reference of every XML-RPC method and REST route, written from
//! the method table and the route table so it cannot drift from what the server serves: a
//! test compares the file with [`markdown`] (`make api-doc` rewrites it).

use crate::web::rest::table::{ROUTES, allow};
use crate::web::xmlrpc::methods::METHODS;

/// A table cell: pipes escaped, newlines flattened.
fn cell(s: &str) -> String {
    let s = s.replace('|', "\\|").replace('\n', " ");
    if s.is_empty() { "—".to_string() } else { s }
}

/// The whole reference.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Client API reference\n\n\
         <!-- Written by `make api-doc` from crates/lava-server/src/web/xmlrpc/methods.rs and \
         crates/lava-server/src/web/rest/table.rs; do not edit by hand. -->\n\n\
         Every XML-RPC method at `/RPC2` and every REST v0.2 route at `/api/v0.2/` this server \
         answers, who may call it, its arguments and result, and how it differs from LAVA \
         2023.01. Authenticate XML-RPC with `https://USER:TOKEN@HOST/RPC2` (as `lavacli` does) \
         and REST with `Authorization: Token TOKEN`. Permissions: *anyone* includes anonymous \
         callers (what they see is still filtered by job visibility); *user* is any \
         authenticated user; *staff* is a staff user or a superuser; *superuser* only a \
         superuser. A refused XML-RPC call is fault 401 (anonymous) or 403; a refused REST \
         call is 403.\n\n\
         The event stream: `scheduler.get_publisher_event_socket` names the ZeroMQ publisher \
         (LAVA's five-part messages: topic, uuid, datetime, username, JSON data); the same \
         events go out as JSON text frames on the WebSocket `/ws/`.\n\n",
    );
    out.push_str(&format!("## XML-RPC ({} methods)\n\n", METHODS.len()));
    out.push_str(
        "| method | permission | arguments | result | what it does | differs from LAVA |\n",
    );
    out.push_str("|---|---|---|---|---|---|\n");
    for m in METHODS {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            m.name,
            m.perm.describe(),
            if m.args.is_empty() {
                "—".to_string()
            } else {
                format!("`{}`", m.args)
            },
            m.signature.first().copied().unwrap_or("nil"),
            cell(m.help),
            cell(m.differs),
        ));
    }
    out.push_str(&format!("\n## REST v0.2 ({} routes)\n\n", ROUTES.len()));
    out.push_str(
        "| route | methods and permission | `Allow` | what it answers | differs from LAVA |\n",
    );
    out.push_str("|---|---|---|---|---|\n");
    for r in ROUTES {
        let methods: Vec<String> = r
            .methods
            .iter()
            .map(|(v, p)| format!("{v}: {}", p.describe()))
            .collect();
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} | {} |\n",
            r.path,
            methods.join(", "),
            allow(r),
            cell(r.help),
            cell(r.differs),
        ));
    }
    out
}
