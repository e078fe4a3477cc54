//! A browser for the tests: cookies kept, redirects seen, forms posted with the session's
//! CSRF token.

use reqwest::StatusCode;

use crate::common::Server;

/// A job every test lab can take.
pub const JOB: &str = "job_name: t\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n";

/// A browser: cookies kept, redirects not followed (so the tests see them).
pub struct Browser {
    http: reqwest::Client,
    base: String,
}

/// A response's status, `Location` and body.
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub body: String,
}

async fn page(r: reqwest::Response) -> Page {
    let header = |n: &str| -> Vec<String> {
        r.headers()
            .get_all(n)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    };
    let location = header("location").into_iter().next();
    let cookies = header("set-cookie");
    Page {
        status: r.status(),
        location,
        cookies,
        body: r.text().await.unwrap(),
    }
}

/// The value of the first input named `name` in `html`.
pub fn field(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

impl Browser {
    pub fn new(s: &Server) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.url.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        page(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A request with this browser's cookies, to finish and send with [`Browser::send`].
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// Sends a request made by [`Browser::request`].
    pub async fn send(&self, r: reqwest::RequestBuilder) -> Page {
        page(r.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self.http.post(format!("{}{path}", self.base)).form(form);
        page(r.send().await.unwrap()).await
    }

    /// Logs in through the form, going on to `next`.
    pub async fn login(&self, user: &str, password: &str, next: &str) -> Page {
        let form = self.get(&format!("/accounts/login/?next={next}")).await;
        let token = field(&form.body, "csrfmiddlewaretoken").expect("login token");
        let fields = [
            ("username", user),
            ("password", password),
            ("csrfmiddlewaretoken", &token),
            ("next", next),
        ];
        self.post("/accounts/login/", &fields).await
    }

    /// The session's CSRF token, from a page's forms.
    pub async fn csrf(&self) -> String {
        let p = self.get("/scheduler/jobsubmit").await;
        field(&p.body, "csrfmiddlewaretoken").expect("a form with a csrf token")
    }

    /// Posts `form` with the session's CSRF token.
    pub async fn submit(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all = form.to_vec();
        all.push(("csrfmiddlewaretoken", &token));
        self.post(path, &all).await
    }
}

/// The server with the repository's templates, a staff user `admin` and a plain user `bob`.
pub async fn lab() -> Server {
    let s = Server::start().await;
    s.add_user("admin", "admin-password", &["--staff"]);
    s.add_user("bob", "bob-password", &[]);
    s
}

pub async fn logged_in(s: &Server, user: &str, password: &str) -> Browser {
    let b = Browser::new(s);
    let p = b.login(user, password, "/").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    b
}
