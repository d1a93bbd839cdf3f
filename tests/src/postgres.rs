//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` into a temporary directory,
//! `pg_ctl start` on a free loopback port, `pg_ctl stop` and the directory removed on drop.
//!
//! The binaries come from `DOORSTEP_PG_BIN` if set, else the newest `/usr/lib/postgresql/*/bin`
//! (Debian's layout), else `PATH`. PostgreSQL refuses to run as root, so as root the cluster runs
//! as the `postgres` user that Debian's package creates. There is no silent skip: without the
//! binaries the tests fail and say how to install them (`scripts/setup.sh` does).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// How the cluster trades durability for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync off: for correctness tests, where a crash of the cluster is not under test.
    Throwaway,
    /// PostgreSQL's defaults (fsync, synchronous commit): for benchmarks that must be honest.
    Durable,
}

/// A running cluster; stopped and deleted when dropped.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    run_as: Option<&'static str>,
}

const USER: &str = "doorstep";
const DATABASE: &str = "doorstep";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL's server binaries (initdb, pg_ctl) were not found; install them with `sudo apt-get install postgresql` (scripts/setup.sh does) or set DOORSTEP_PG_BIN"
    )]
    NotInstalled,
    #[error("{step} failed: {detail}")]
    Step { step: &'static str, detail: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn find_bin() -> Result<PathBuf, ClusterError> {
    if let Some(dir) = std::env::var_os("DOORSTEP_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
        .ok_or(ClusterError::NotInstalled)
}

fn is_root() -> bool {
    // The owner of /proc/self is this process's effective user; no libc call (unsafe) needed.
    std::fs::metadata("/proc/self")
        .map(|meta| std::os::unix::fs::MetadataExt::uid(&meta) == 0)
        .unwrap_or(false)
}

fn free_port() -> Result<u16, ClusterError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Cluster {
    pub fn start(durability: Durability) -> Result<Self, ClusterError> {
        let bin = find_bin()?;
        let run_as = is_root().then_some("postgres");
        let dir = tempfile::Builder::new()
            .prefix("doorstep-pg-")
            .tempdir_in(std::env::temp_dir())?;
        if let Some(user) = run_as {
            chown(dir.path(), user)?;
        }
        let mut cluster = Self {
            bin,
            dir,
            port: 0,
            run_as,
        };
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            "initdb",
            &[
                "-D",
                path_str(&data)?,
                "-U",
                USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )?;
        // The port is chosen free a moment before the server binds it; another process may take it
        // in between, so try a few.
        let mut last = None;
        for _ in 0..5 {
            cluster.port = free_port()?;
            match cluster.pg_ctl_start(durability) {
                Ok(()) => {
                    cluster.create_database()?;
                    return Ok(cluster);
                }
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or(ClusterError::Step {
            step: "pg_ctl start",
            detail: "no free port".to_owned(),
        }))
    }

    /// `postgres://…` for the cluster's database.
    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The cluster's files, to search for plaintext.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn pg_ctl_start(&self, durability: Durability) -> Result<(), ClusterError> {
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200",
            self.port
        );
        if durability == Durability::Throwaway {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl start",
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data_dir())?,
                "-l",
                path_str(&log)?,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .map_err(|error| match error {
            ClusterError::Step { step, detail } => ClusterError::Step {
                step,
                detail: format!(
                    "{detail}\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                ),
            },
            other => other,
        })
    }

    fn create_database(&self) -> Result<(), ClusterError> {
        let output = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .arg(DATABASE)
            .output()?;
        check("createdb", &output)
    }

    fn run(&self, step: &'static str, program: &str, args: &[&str]) -> Result<(), ClusterError> {
        let program = self.bin.join(program);
        let output = match self.run_as {
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--"])
                .arg(&program)
                .args(args)
                .current_dir(self.dir.path())
                .output()?,
            None => Command::new(&program)
                .args(args)
                .current_dir(self.dir.path())
                .output()?,
        };
        check(step, &output)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.port != 0 {
            let data = self.data_dir();
            if let Some(data) = data.to_str() {
                let _ = self.run(
                    "pg_ctl stop",
                    "pg_ctl",
                    &["-D", data, "-m", "immediate", "-w", "stop"],
                );
            }
        }
    }
}

fn check(step: &'static str, output: &Output) -> Result<(), ClusterError> {
    if output.status.success() {
        return Ok(());
    }
    Err(ClusterError::Step {
        step,
        detail: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

fn chown(path: &Path, user: &str) -> Result<(), ClusterError> {
    let output = Command::new("chown").arg(user).arg(path).output()?;
    check("chown", &output)
}

fn path_str(path: &Path) -> Result<&str, ClusterError> {
    path.to_str().ok_or(ClusterError::Step {
        step: "path",
        detail: "the temporary directory's path is not UTF-8".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_starts_accepts_connections_and_is_gone_after_drop() {
        let cluster = Cluster::start(Durability::Throwaway).unwrap();
        let data = cluster.data_dir();
        assert!(data.join("PG_VERSION").exists());
        std::net::TcpStream::connect(("127.0.0.1", cluster.port())).unwrap();
        let port = cluster.port();
        drop(cluster);
        assert!(!data.exists());
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
