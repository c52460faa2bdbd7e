//! Headless Chromium driven over WebDriver (chromedriver), for testing the web page in
//! a real browser. Each `Browser` owns its chromedriver process (random port), a fresh
//! profile and a download directory; all are removed on drop.
//!
//! The browser resolves no host names: pages under test load from 127.0.0.1, and
//! anything they would fetch from the internet (map tiles from their default server)
//! fails at once, the same on a machine with internet access as on one without.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine;
use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
    pub downloads: tempfile::TempDir,
}

fn find(program: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"]
        .iter()
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn start() -> Self {
        let chromedriver = find("chromedriver")
            .expect("chromedriver is missing (the README's test command installs chromium-driver)");
        let chromium =
            find("chromium").expect("chromium is missing (the README's test command installs it)");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = crate::http_client();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.json::<Value>()
                    .await
                    .ok()
                    .is_some_and(|v| v["value"]["ready"] == true)
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let downloads = tempfile::tempdir().unwrap();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-dev-shm-usage", "--disable-sync", "--no-first-run",
                    "--window-size=1280,1000", format!("--user-data-dir={}", profile.path().display()),
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
                ],
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false,
                    "safebrowsing.enabled": false
                }
            }
        } } });
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_owned();
        Self {
            driver,
            base,
            session,
            http,
            _profile: profile,
            downloads,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if let Some(err) = v["value"].get("error") {
            panic!("WebDriver {path}: {err}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn element(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        v[ELEMENT_KEY].as_str().unwrap().to_owned()
    }

    pub async fn click(&self, css: &str) {
        let el = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Types into an element; for `<input type=file>` the text is a file path.
    pub async fn send_keys(&self, css: &str, text: &str) {
        let el = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let el = self.element(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{el}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Runs `script` (a function body; `return` gives the value) with `args` as its
    /// `arguments`.
    pub async fn script_with(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// A real mouse click (pointer move, press, release) at (`x`, `y`) CSS pixels from
    /// the top-left corner of the first element matching `css`, which is scrolled to
    /// the middle of the window first. The page sees the same events as from a person:
    /// what is drawn at that point (a canvas marker, say) gets the click.
    pub async fn click_within(&self, css: &str, x: f64, y: f64) {
        let el = self.element(css).await;
        let origin = json!({ ELEMENT_KEY: el });
        self.script_with(
            "arguments[0].scrollIntoView({ block: 'center', inline: 'center' }); return true;",
            json!([origin]),
        )
        .await;
        let rect = self
            .call(reqwest::Method::GET, &format!("/element/{el}/rect"), None)
            .await;
        let (width, height) = (
            rect["width"].as_f64().unwrap(),
            rect["height"].as_f64().unwrap(),
        );
        // WebDriver offsets are from the element's centre point (rounded down).
        let dx = (x - (width / 2.0).floor()).round() as i64;
        let dy = (y - (height / 2.0).floor()).round() as i64;
        self.call(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{
                "type": "pointer",
                "id": "mouse",
                "parameters": { "pointerType": "mouse" },
                "actions": [
                    { "type": "pointerMove", "duration": 0, "origin": origin, "x": dx, "y": dy },
                    { "type": "pointerDown", "button": 0 },
                    { "type": "pointerUp", "button": 0 }
                ]
            }] })),
        )
        .await;
        self.call(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Polls a JavaScript expression until it is truthy; returns its value.
    pub async fn wait_for(&self, expression: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.script(&format!("return ({expression});")).await;
            if !(v.is_null() || v == false || v == "" || v == 0) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for `{expression}`"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the browser has saved `name` in its download directory and returns
    /// its bytes. Chromium writes to a `.crdownload` file and renames it when the
    /// download is complete, so the final name appears only with the whole file.
    pub async fn downloaded(&self, name: &str, timeout: Duration) -> Vec<u8> {
        let path = self.downloads.path().join(name);
        let deadline = Instant::now() + timeout;
        while !path.is_file() {
            assert!(
                Instant::now() < deadline,
                "no {name} in the downloads: {:?}",
                std::fs::read_dir(self.downloads.path())
                    .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::fs::read(&path).unwrap()
    }

    /// Resizes the browser window (a phone is about 390 × 844).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Saves a PNG screenshot to `path` (directories created).
    pub async fn screenshot(&self, path: &Path) {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Best effort: ending the WebDriver session closes Chromium; killing the
        // driver afterwards takes down anything left.
        let addr = self.base.trim_start_matches("http://").to_owned();
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
                self.session
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where test artifacts (screenshots) are kept: `target/test-artifacts/`.
pub fn artifact(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/test-artifacts/<name>
    exe.ancestors()
        .nth(3)
        .unwrap()
        .join("test-artifacts")
        .join(name)
}
