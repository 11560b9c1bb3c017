//! The console's browser tests: Debian's chromium driven over WebDriver
//! (chromium-driver, started here on a free loopback port) against the
//! daemon run as a process with `[web]` on, and plain HTTP for what a
//! browser would hide (headers, status codes, cookies).
#![allow(dead_code)] // each test file uses a part

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// Phone and desktop widths the screenshots are taken at.
pub const PHONE: (u32, u32) = (390, 844);
pub const DESKTOP: (u32, u32) = (1280, 900);

/// A port nobody listens on (the OS's pick, freed again).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The `[web]` section for a console on `port`, with an http base_url (tests
/// run on loopback: cookies must then not be Secure).
pub fn web_section(port: u16) -> String {
    format!("[web]\nlisten = \"127.0.0.1:{port}\"\nbase_url = \"http://127.0.0.1:{port}/\"\n")
}

/// Waits until something answers on `port` (the daemon has started serving).
pub async fn until_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "nothing listens on 127.0.0.1:{port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One plain HTTP/1.1 request to 127.0.0.1:`port`; the status, the headers
/// (lower-case names) and the body.
pub async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    // A server that refuses early (413) may close before the body is all sent.
    let _ = stream.write_all(req.as_bytes()).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    Response::parse(&String::from_utf8_lossy(&raw))
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    fn parse(raw: &str) -> Self {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Self {
            status,
            headers,
            body: body.to_string(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A headless chromium under chromedriver; both stop when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    pub async fn start(size: (u32, u32)) -> Self {
        Self::start_lang(size, "en-US").await
    }

    /// A browser whose languages (Accept-Language) are `lang`, e.g. "ja".
    pub async fn start_lang((width, height): (u32, u32), lang: &str) -> Self {
        let port = free_port();
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts (Debian's chromium-driver; scripts/test.sh installs it)");
        until_listening(port).await;
        let args = serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-extensions", format!("--lang={lang}"),
                     format!("--window-size={width},{height}")],
            "prefs": {"intl.accept_languages": lang},
            "binary": "/usr/bin/chromium",
        });
        let mut args = args;
        if width < 500 {
            // Headless windows are at least 500 px wide: a phone is emulated.
            args["mobileEmulation"] = serde_json::json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 2, "touch": true}
            });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), args);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session");
        Self { client, driver }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// What a person reads on the page (the body's rendered text). A page
    /// still loading after a click is read again once it has loaded.
    pub async fn text(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let read = async {
                let body = self.client.find(Locator::Css("body")).await?;
                body.text().await
            };
            match read.await {
                Ok(text) => return text,
                Err(e) if Instant::now() >= deadline => panic!("the page's text: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Waits until the page's address contains `part` (a click's navigation
    /// finishes after `click` returns); the address.
    pub async fn until_url(&self, part: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let url = self.url().await;
            if url.contains(part) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "the page stayed at {url}, not {part}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Loads `url` again until the page shows `what` (the daemon acts in
    /// the background); the page's text.
    pub async fn until_page_shows(&self, url: &str, what: &str) -> String {
        let start = Instant::now();
        loop {
            self.goto(url).await;
            let text = self.text().await;
            if text.contains(what) {
                return text;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{url} never showed {what:?}: {text}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current url")
            .to_string()
    }

    /// Clicks the button or link whose text is `label`, and waits until the
    /// page it leads to has loaded (the console has no scripts: every button
    /// and link navigates, and WebDriver's click may return before that).
    pub async fn click(&self, label: &str) {
        let xpath = format!(
            "//button[normalize-space(.)='{label}'] | //a[normalize-space(.)='{label}'] | //input[@type='submit' and @value='{label}']"
        );
        let target = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button or link {label:?}: {e}"));
        self.click_and_wait(target).await;
    }

    /// Clicks the element `css` selects, as `click` does.
    pub async fn click_css(&self, css: &str) {
        let target = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        self.click_and_wait(target).await;
    }

    async fn click_and_wait(&self, target: fantoccini::elements::Element) {
        self.mark_page().await;
        target.click().await.expect("click");
        self.until_next_page().await;
    }

    /// Marks the page now shown, so that `until_next_page` can tell it from
    /// the next one.
    async fn mark_page(&self) {
        self.client
            .execute("window.__shown_before_click = true;", vec![])
            .await
            .expect("mark the page");
    }

    /// Waits until the marked page is gone and its successor has loaded.
    async fn until_next_page(&self) {
        let deadline = Instant::now() + Duration::from_secs(8);
        let script =
            "return window.__shown_before_click !== true && document.readyState === 'complete';";
        while Instant::now() < deadline {
            // Mid-navigation the script may fail: the page is not there yet.
            if let Ok(serde_json::Value::Bool(true)) = self.client.execute(script, vec![]).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the click led to no new page within 8 s");
    }

    /// Types `value` into the field named `name`.
    pub async fn fill(&self, name: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Css(&format!("[name='{name}']")))
            .await
            .unwrap_or_else(|e| panic!("no field {name:?}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Chooses the option whose value is `value` in the list named `name`.
    pub async fn choose(&self, name: &str, value: &str) {
        self.client
            .find(Locator::Css(&format!("select[name='{name}']")))
            .await
            .unwrap_or_else(|e| panic!("no list {name:?}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("no option {value:?} in {name:?}: {e}"));
    }

    /// Makes the list `name` send `value`, which it does not offer (what an
    /// old form or a hand-made POST sends), to see the server refuse it.
    pub async fn choose_unlisted(&self, name: &str, value: &str) {
        let script = "const s = document.querySelector(`select[name='${arguments[0]}']`);\
             s.add(new Option(arguments[1], arguments[1], true, true));";
        self.client
            .execute(script, vec![name.into(), value.into()])
            .await
            .unwrap_or_else(|e| panic!("no list {name:?}: {e}"));
    }

    /// A PNG of the viewport under target/screenshots/ (for the closing note).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/web");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Ends the WebDriver session (chromium quits), then the driver stops.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn chromedriver() -> &'static str {
    if Path::new("/usr/bin/chromedriver").exists() {
        "/usr/bin/chromedriver"
    } else {
        "chromedriver"
    }
}

/// A session for `admin` written straight into the database at `db_url`
/// (for page tests; the sign-in flow itself is tested through the mailbox).
/// Returns the cookie's value.
pub async fn session_for(db_url: &str, admin: &str) -> String {
    use circle_relay::web::session::{hash_hex, random_token};
    let store = inbox_support_store(db_url).await;
    let token = random_token().expect("random");
    let now = jiff::Timestamp::now().as_second();
    let session = circle_relay::store::web::WebSession {
        admin: admin.to_string(),
        csrf: random_token().expect("random"),
        expires_at: now + 3600,
    };
    store
        .web_session_create(&hash_hex(&token), &session, now)
        .await
        .expect("store a session");
    store.close().await;
    token
}

async fn inbox_support_store(db_url: &str) -> circle_relay::store::Store {
    let config = circle_relay::config::DatabaseConfig {
        url: circle_relay::config::DatabaseUrl::new(db_url),
        ..Default::default()
    };
    circle_relay::store::Store::connect(&config)
        .await
        .expect("open the database")
}

impl Browser {
    /// Signs this browser in with a session cookie for `port`'s console.
    pub async fn with_session(&self, port: u16, token: &str) {
        self.goto(&format!("http://127.0.0.1:{port}/login")).await;
        let mut cookie =
            fantoccini::cookies::Cookie::new(circle_relay::web::session::COOKIE, token.to_string());
        cookie.set_path("/");
        cookie.set_secure(false);
        cookie.set_domain("127.0.0.1");
        cookie.set_same_site(Some(cookie::SameSite::Lax));
        self.client
            .add_cookie(cookie)
            .await
            .expect("set the session cookie");
    }
}
