//! The real desktop app in a real window, for end-to-end tests: a virtual display (Xvfb),
//! tauri-driver in front of WebKitWebDriver, and a WebDriver session that launches the app on a
//! given device store. Everything is started here, on loopback, and stopped on drop.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error(
        "{0} was not found; install it (scripts/setup.sh installs Xvfb and webkit2gtk-driver with apt-get, and tauri-driver with cargo install)"
    )]
    Missing(&'static str),
    #[error(
        "the desktop app is not built at {0}; build it with `cargo build -p doorstep-desktop` (scripts/test.sh does)"
    )]
    AppNotBuilt(PathBuf),
    #[error("{0} did not start: {1}")]
    DidNotStart(&'static str, String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain(std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo/bin")))
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

fn free_port() -> Result<u16, HarnessError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16, what: &'static str, child: &mut Child) -> Result<(), HarnessError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            return Err(HarnessError::DidNotStart(
                what,
                format!("exited with {status}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(HarnessError::DidNotStart(
        what,
        "no answer in 20 s".to_owned(),
    ))
}

/// The desktop binary beside this test's own executable (`target/<profile>/`).
pub fn desktop_binary() -> Result<PathBuf, HarnessError> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| HarnessError::AppNotBuilt(exe.clone()))?;
    let app = profile_dir.join("doorstep-desktop");
    if app.is_file() {
        Ok(app)
    } else {
        Err(HarnessError::AppNotBuilt(app))
    }
}

/// Xvfb on a free display number, and tauri-driver on a free port, for one app's data directory.
#[derive(Debug)]
pub struct Desktop {
    xvfb: Child,
    display: u32,
    driver: Child,
    pub webdriver_url: String,
    pub app: PathBuf,
    /// Where the app saves files the user exports (`DOORSTEP_EXPORT_DIR`), beside the data
    /// directory.
    pub export_dir: PathBuf,
}

impl Desktop {
    pub fn start(data_dir: &Path) -> Result<Self, HarnessError> {
        let app = desktop_binary()?;
        let xvfb_bin = on_path("Xvfb").ok_or(HarnessError::Missing("Xvfb"))?;
        let driver_bin = on_path("tauri-driver").ok_or(HarnessError::Missing("tauri-driver"))?;
        let native = on_path("WebKitWebDriver").ok_or(HarnessError::Missing(
            "WebKitWebDriver (Debian's webkit2gtk-driver)",
        ))?;
        // A display number nobody else is likely to use; Xvfb refuses a taken one and we retry.
        let mut display = 90 + (std::process::id() % 400);
        let xvfb = loop {
            let mut child = Command::new(&xvfb_bin)
                .arg(format!(":{display}"))
                .args(["-screen", "0", "1280x1024x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            std::thread::sleep(Duration::from_millis(400));
            match child.try_wait()? {
                None => break child,
                Some(_) if display < 900 => display += 1,
                Some(status) => {
                    return Err(HarnessError::DidNotStart("Xvfb", status.to_string()));
                }
            }
        };
        let export_dir = data_dir.with_extension("exports");
        let port = free_port()?;
        let native_port = free_port()?;
        // Its own process group: tauri-driver starts WebKitWebDriver, which starts the app, and
        // all of them must go when the test ends.
        let driver = Command::new(driver_bin)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .arg("--native-driver")
            .arg(native)
            .env("DISPLAY", format!(":{display}"))
            .env("DOORSTEP_DATA_DIR", data_dir)
            .env("DOORSTEP_EXPORT_DIR", &export_dir)
            // Software rendering: there is no GPU under Xvfb.
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        // Owned by the harness before anything can fail, so that drop stops it either way.
        let mut desktop = Self {
            xvfb,
            display,
            driver,
            webdriver_url: format!("http://127.0.0.1:{port}"),
            app,
            export_dir,
        };
        wait_for_port(port, "tauri-driver", &mut desktop.driver)?;
        Ok(desktop)
    }

    /// A PNG of the app's window as the virtual screen shows it (ImageMagick's `import`).
    /// WebKitWebDriver's own screenshot command can hang once the page has changed, so the pixels
    /// are taken from the X server instead; without a window manager the window sits at the
    /// top-left corner, at its configured size.
    pub fn screenshot(&self, path: &Path, width: u32, height: u32) -> Result<(), HarnessError> {
        let import =
            on_path("import").ok_or(HarnessError::Missing("import (Debian's imagemagick)"))?;
        let output = Command::new(import)
            .args(["-display", &format!(":{}", self.display), "-window", "root"])
            .args(["-crop", &format!("{width}x{height}+0+0"), "+repage"])
            .arg(path)
            .output()?;
        if output.status.success() {
            Ok(())
        } else {
            Err(HarnessError::DidNotStart(
                "import",
                String::from_utf8_lossy(&output.stderr).into_owned(),
            ))
        }
    }

    /// The WebDriver capabilities that make tauri-driver launch the app.
    pub fn capabilities(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "tauri:options".to_owned(),
            serde_json::json!({ "application": self.app }),
        );
        capabilities.insert("browserName".to_owned(), serde_json::json!("wry"));
        capabilities
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        // The whole group: tauri-driver, WebKitWebDriver and the app with its web processes.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        for child in [&mut self.driver, &mut self.xvfb] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
