//! Headless Chromium driven over WebDriver (chromedriver + fantoccini).
//!
//! [`Browser`] owns the chromedriver process group: dropping it kills
//! chromedriver and every Chromium it started, also when a test panics.

use crate::harness::{free_port, repo_root, TempDir};
use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a fresh headless session
    /// (own profile folder, so no state leaks between sessions).
    pub async fn start() -> Result<Self> {
        Self::start_with_downloads(None).await
    }

    /// [`Browser::start`], with downloads saved into `downloads` without a prompt.
    pub async fn start_with_downloads(downloads: Option<&std::path::Path>) -> Result<Self> {
        Self::launch(downloads, &[]).await
    }

    /// [`Browser::start`] with the system set to dark: pages see `prefers-color-scheme: dark`.
    pub async fn start_dark() -> Result<Self> {
        Self::launch(None, &["--force-dark-mode"]).await
    }

    async fn launch(downloads: Option<&std::path::Path>, extra_args: &[&str]) -> Result<Self> {
        let (mut driver, mut port) = spawn_driver()?;
        let profile = TempDir::new("chromium")?;
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .iter()
        .chain(extra_args)
        .map(|a| a.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path.display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": args,
                "prefs": {
                    "download.default_directory": downloads.map(|d| d.display().to_string()),
                    "download.prompt_for_download": false,
                },
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let start = Instant::now();
        let client = loop {
            // chromedriver exits at once when its port was taken after free_port read it
            // (parallel tests): start it again on another port.
            if driver.try_wait()?.is_some() {
                (driver, port) = spawn_driver()?;
            }
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) if start.elapsed() > Duration::from_secs(20) => {
                    bail!("could not open a Chromium session through chromedriver: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Ok(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Waits (at most 20 s) for the element `css`.
    pub async fn element(&self, css: &str) -> Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("no element {css:?} appeared within 20 s"))
    }

    /// Waits (at most 20 s) for an element and returns its text.
    pub async fn text_of(&self, css: &str) -> Result<String> {
        let el = self.element(css).await?;
        Ok(el.text().await?)
    }

    /// Waits (at most `secs` seconds) until the text of the element `css` satisfies `ok`,
    /// and returns it; the error names the last text seen.
    pub async fn wait_text(
        &self,
        css: &str,
        secs: u64,
        ok: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let start = Instant::now();
        let mut last = String::from("<no element>");
        while start.elapsed() < Duration::from_secs(secs) {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(t) = el.text().await {
                    if ok(&t) {
                        return Ok(t);
                    }
                    last = t;
                }
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        bail!("{css:?} never had the expected text within {secs} s; last seen: {last:?}")
    }

    /// How many elements match `css` now.
    pub async fn count(&self, css: &str) -> Result<usize> {
        Ok(self.client.find_all(Locator::Css(css)).await?.len())
    }

    /// Replaces the value of the input `css` by typing `text` into it.
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let el = self.element(css).await?;
        el.clear().await?;
        el.send_keys(text).await?;
        Ok(())
    }

    /// Clicks the element `css` (waiting for it at most 20 s).
    pub async fn click(&self, css: &str) -> Result<()> {
        let el = self.element(css).await?;
        el.click().await?;
        Ok(())
    }

    /// Scrolls the element `css` to the middle of the window.
    pub async fn scroll_to(&self, css: &str) -> Result<fantoccini::elements::Element> {
        let el = self.element(css).await?;
        let arg = serde_json::to_value(&el)?;
        self.client
            .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
            .await?;
        Ok(el)
    }

    /// Scrolls the element `css` to the middle of the window, then clicks it (for buttons a
    /// sticky bar may cover at the window's edge).
    pub async fn click_centered(&self, css: &str) -> Result<()> {
        self.scroll_to(css).await?.click().await?;
        Ok(())
    }

    /// Resizes the window (e.g. 390 x 844 for a phone).
    pub async fn resize(&self, width: u32, height: u32) -> Result<()> {
        self.client.set_window_size(width, height).await?;
        Ok(())
    }

    /// Opens the app at `base` signed in with the admin token `token` (as the sign-in screen
    /// leaves it: the token in the tab's sessionStorage).
    pub async fn sign_in(&self, base: &str, token: &str) -> Result<()> {
        self.client.goto(base).await?;
        self.client
            .execute(
                "sessionStorage.setItem('scheduler-admin-token', arguments[0]); return 1",
                vec![serde_json::Value::from(token)],
            )
            .await?;
        // The app reads the token when it starts, which may have been before the line above:
        // reload, and wait for the signed-in navigation.
        self.client.refresh().await?;
        self.element(".topnav").await?;
        Ok(())
    }

    /// Opens the app's `route` (`#/new`, `#/instances/ID`) at `base`.
    pub async fn open(&self, base: &str, route: &str) -> Result<()> {
        self.client.goto(&format!("{base}/{route}")).await?;
        Ok(())
    }

    /// A fresh browser signed in with `token` (see [`Browser::sign_in`]) on the app's `route`.
    pub async fn signed_in_at(base: &str, token: &str, route: &str) -> Result<Self> {
        let b = Self::start().await?;
        b.sign_in(base, token).await?;
        b.open(base, route).await?;
        Ok(b)
    }

    /// Saves a PNG screenshot under target/screenshots/ (git-ignored) and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let dir = repo_root().join("target/screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }

    /// Ends the WebDriver session cleanly; Drop then kills the driver.
    pub async fn close(self) -> Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let pid = self.driver.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.wait();
    }
}

/// Starts chromedriver on a free loopback port.
fn spawn_driver() -> Result<(std::process::Child, u16)> {
    let port = free_port();
    let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let driver = Command::new(&driver_bin)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .with_context(|| format!("start {driver_bin} (scripts/setup.sh --browser installs it)"))?;
    Ok((driver, port))
}
