//! End-to-end tests of fleet on a Ballista cluster (feature `cluster`): a scheduler and
//! executors as separate `fleet cluster` processes on 127.0.0.1, free ports, all killed when
//! a test ends (even by a failed assertion). `sql`, `agg` and `scan --cluster` give what the
//! local runs give, byte for byte, on plain and quoted-newline data, with tasks on every
//! executor; a lost executor, a scheduler that is not there, a path missing on one executor
//! and another fleet version each end in one clear line and exit 2, never a short result.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{gps, stderr, stdout, KillOnDrop};

/// Polls `cond` every 50 ms (a poll, not a guess at how long things take), failing after
/// `secs` with `what` and `context()`.
fn poll(what: &str, secs: u64, mut cond: impl FnMut() -> bool, context: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    text
}

/// A port with the next one free too (an executor takes PORT and PORT+1).
fn free_port_pair() -> u16 {
    loop {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// An executor's extra arguments and environment.
type ExecutorSpec<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

struct Node {
    child: Option<KillOnDrop>,
    log: PathBuf,
}

/// A scheduler and executors, stopped on drop.
struct Cluster {
    dir: tempfile::TempDir,
    scheduler: Node,
    executors: Vec<Node>,
    addr: String,
}

fn spawn(args: &[&str], log: &Path, envs: &[(&str, &str)]) -> KillOnDrop {
    let mut cmd = common::fleet();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    KillOnDrop(cmd.spawn().unwrap())
}

impl Cluster {
    /// A scheduler and one executor per entry of `executors` (its extra arguments and
    /// environment), each with one slot; returns once all are registered.
    fn start(executors: &[ExecutorSpec]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("scheduler.log");
        let child = spawn(
            &[
                "cluster",
                "scheduler",
                "--bind",
                "127.0.0.1:0",
                "--executor-timeout",
                "6",
            ],
            &log,
            &[],
        );
        let mut addr = String::new();
        poll(
            "the scheduler to listen",
            120,
            || {
                let text = read(&log);
                match text.split("listening on ").nth(1) {
                    Some(rest) => {
                        addr = rest.split_whitespace().next().unwrap_or("").to_string();
                        !addr.is_empty()
                    }
                    None => false,
                }
            },
            || read(&log),
        );
        let mut cluster = Cluster {
            scheduler: Node {
                child: Some(child),
                log,
            },
            executors: Vec::new(),
            addr,
            dir,
        };
        for (i, (extra, envs)) in executors.iter().enumerate() {
            cluster.add_executor(i, extra, envs);
        }
        let n = executors.len();
        poll(
            "the executors to register",
            120,
            || cluster.scheduler_log().contains(&format!("({n} alive)")),
            || cluster.logs(),
        );
        cluster
    }

    fn add_executor(&mut self, i: usize, extra: &[&str], envs: &[(&str, &str)]) {
        let log = self.dir.path().join(format!("executor-{i}.log"));
        let work = self.dir.path().join(format!("work-{i}"));
        let bind = format!("127.0.0.1:{}", free_port_pair());
        let mut args = vec![
            "cluster",
            "executor",
            "--scheduler",
            &self.addr,
            "--bind",
            &bind,
            "--slots",
            "1",
            "--heartbeat",
            "1",
            "--work-dir",
            work.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let child = spawn(&args, &log, envs);
        self.executors.push(Node {
            child: Some(child),
            log,
        });
    }

    fn url(&self) -> String {
        format!("df://{}", self.addr)
    }

    fn scheduler_log(&self) -> String {
        read(&self.scheduler.log)
    }

    fn executor_log(&self, i: usize) -> String {
        read(&self.executors[i].log)
    }

    fn logs(&self) -> String {
        let mut text = format!("scheduler:\n{}", self.scheduler_log());
        for i in 0..self.executors.len() {
            text.push_str(&format!("\nexecutor {i}:\n{}", self.executor_log(i)));
        }
        text
    }

    /// Sends SIGTERM to executor `i` (or the scheduler, for `None`) and waits for it to
    /// exit; returns its exit code (`None`: ended by a signal).
    fn terminate(&mut self, i: Option<usize>) -> Option<i32> {
        let node = match i {
            Some(i) => &mut self.executors[i],
            None => &mut self.scheduler,
        };
        let child = &mut node.child.as_mut().unwrap().0;
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid, which we have not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let mut status = None;
        let log = node.log.clone();
        poll(
            "a node to stop after SIGTERM",
            60,
            || {
                status = child.try_wait().unwrap();
                status.is_some()
            },
            || read(&log),
        );
        node.child.take();
        status.unwrap().code()
    }

    fn kill_executor(&mut self, i: usize) {
        if let Some(mut child) = self.executors[i].child.take() {
            // SIGKILL: no goodbye to the scheduler.
            child.0.kill().unwrap();
            child.0.wait().unwrap();
        }
    }
}

fn fleet(args: &[&str]) -> Output {
    common::output_within(common::fleet().args(args), 300)
}

fn fleet_env(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = common::fleet();
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    common::output_within(&mut cmd, 300)
}

/// `args` locally and with `--cluster`: the same bytes on stdout, both successful and not
/// empty.
fn same_on_cluster(cluster: &Cluster, args: &[&str]) -> Vec<u8> {
    let local = fleet(args);
    assert!(local.status.success(), "local {args:?}: {}", stderr(&local));
    let url = cluster.url();
    let mut remote_args = args.to_vec();
    remote_args.splice(1..1, ["--cluster", url.as_str()]);
    let remote = fleet(&remote_args);
    assert!(
        remote.status.success(),
        "{remote_args:?}: {}\n{}",
        stderr(&remote),
        cluster.logs()
    );
    assert!(!local.stdout.is_empty(), "{args:?} printed nothing");
    assert!(
        local.stdout == remote.stdout,
        "{args:?}: local and cluster differ:\n--- local\n{}\n--- cluster\n{}",
        stdout(&local),
        stdout(&remote)
    );
    remote.stdout
}

/// Files with quoted newlines, `""` escapes, empty fields, CRLF, a BOM and no final newline.
fn awkward_dir(files: usize, rows: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in 0..files {
        let mut text = String::from("\u{feff}id,note,v\r\n");
        for i in 0..rows {
            let id = i % 13;
            match i % 7 {
                0 => text.push_str(&format!("{id},\"two\r\nlines, {i}\",{}\r\n", i % 11)),
                1 => text.push_str(&format!("{id},\"say \"\"hi\"\" {i}\",{}\r\n", i % 11)),
                2 => text.push_str(&format!("{id},,{}\r\n", i % 11)),
                _ => text.push_str(&format!("{id},note {i},{}\r\n", i % 11)),
            }
        }
        text.push_str(&format!("{f},last,3"));
        std::fs::write(dir.path().join(format!("notes-{f}.csv")), text).unwrap();
    }
    dir
}

fn one_error_line(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("fleet: error:"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    lines[0].to_string()
}

#[test]
fn a_scheduler_that_is_not_there_is_one_line_and_exit_2() {
    let data = gps(1, 100);
    let path = data.path().to_str().unwrap();
    let port = free_port_pair();
    let url = format!("df://127.0.0.1:{port}");
    for args in [
        vec!["agg", "--cluster", &url, "--group-by", "id", path],
        vec!["scan", "--cluster", &url, "-w", "id=1", path],
        vec![
            "sql",
            "--cluster",
            &url,
            "SELECT count(*) FROM gps",
            "-t",
            path,
        ],
    ] {
        let out = fleet(&args);
        let line = one_error_line(&out);
        assert!(
            line.contains(&format!(
                "cannot reach the Ballista scheduler at 127.0.0.1:{port}"
            )),
            "{line}"
        );
    }
    // Something else on the port (not a Ballista scheduler): still one line, exit 2.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("df://{}", listener.local_addr().unwrap());
    let accept = std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            drop(stream);
        }
    });
    let out = fleet(&["agg", "--cluster", &url, "--group-by", "id", path]);
    one_error_line(&out);
    drop(accept);
    let out = fleet(&["agg", "--cluster", "df://nohost", path]);
    assert!(one_error_line(&out).contains("invalid scheduler address"));
}

#[test]
fn an_executor_that_cannot_reach_its_scheduler_exits_2() {
    let port = free_port_pair();
    let bind = format!("127.0.0.1:{}", free_port_pair());
    let out = fleet(&[
        "cluster",
        "executor",
        "--scheduler",
        &format!("127.0.0.1:{port}"),
        "--bind",
        &bind,
    ]);
    assert!(one_error_line(&out).contains("cannot reach the Ballista scheduler"));
}

const NONE: ExecutorSpec = (&[], &[]);

/// The parts each executor ran (its `ran VERB part` lines).
fn parts_run(cluster: &Cluster, i: usize, verb: &str) -> usize {
    cluster
        .executor_log(i)
        .matches(&format!("ran {verb} part"))
        .count()
}

#[test]
fn agg_scan_and_sql_on_two_executors_match_local_runs() {
    let mut cluster = Cluster::start(&[NONE, NONE]);
    let plain = gps(4, 3000);
    let quoted = awkward_dir(4, 700);
    for dir in [plain.path(), quoted.path()] {
        let path = dir.to_str().unwrap();
        let (key, value) = if dir == plain.path() {
            ("id", "speed")
        } else {
            ("id", "v")
        };
        let mean = format!("mean({value})");
        let sum = format!("sum({value})");
        let max = format!("max({value})");
        same_on_cluster(
            &cluster,
            &[
                "agg",
                "--group-by",
                key,
                "--agg",
                "count",
                "--agg",
                &mean,
                "--agg",
                &sum,
                "--agg",
                &max,
                path,
            ],
        );
        if dir == plain.path() {
            // Every kind of partial state crosses as its Arrow columns: counts, exact sums
            // and squares, min/max winners, distinct sets, histograms, sketches, picks.
            same_on_cluster(
                &cluster,
                &[
                    "agg",
                    "--group-by",
                    "id,hour(time)",
                    "--agg",
                    "count(speed)",
                    "--agg",
                    "stddev(speed)",
                    "--agg",
                    "distinct(heading)",
                    "--agg",
                    "median(speed)",
                    "--agg",
                    "approx_quantile(lat,0.9)",
                    "--agg",
                    "first(time)",
                    "--agg",
                    "last(time)",
                    "--agg",
                    "min(lon)",
                    path,
                ],
            );
        }
        let filter = format!("{value}>5");
        let scanned = same_on_cluster(&cluster, &["scan", "-w", &filter, path]);
        if dir == quoted.path() {
            // The quoted newlines and `""` escapes went through the cluster and back.
            let text = String::from_utf8_lossy(&scanned);
            assert!(text.contains("\"two\r\nlines"), "{text}");
            assert!(text.contains("\"say \"\"hi\"\""), "{text}");
        }
        let table = format!("t={path}");
        let query = format!(
            "SELECT {key}, count(*) AS n, sum({value}) AS s FROM t GROUP BY {key} ORDER BY {key}"
        );
        same_on_cluster(&cluster, &["sql", &query, "-t", &table]);
        // Without ORDER BY the cluster returns its parts as they finish (SQL promises no
        // order): the same rows, one JSON line each, in some order.
        let select = format!("SELECT * FROM t WHERE {value} > 5");
        let args = ["sql", &select, "-t", &table, "--format", "jsonl"];
        let local = fleet(&args);
        let url = cluster.url();
        let remote = fleet(&[&args[..1], &["--cluster", &url], &args[1..]].concat());
        assert!(remote.status.success(), "{}", stderr(&remote));
        let rows = |out: &Output| {
            let mut rows: Vec<String> = stdout(out).lines().map(str::to_string).collect();
            rows.sort();
            rows
        };
        let (local_rows, remote_rows) = (rows(&local), rows(&remote));
        assert!(local_rows.len() > 100, "{}", stdout(&local));
        assert_eq!(local_rows, remote_rows);
    }
    for (verb, runs) in [("agg", 3), ("scan", 2)] {
        let (a, b) = (parts_run(&cluster, 0, verb), parts_run(&cluster, 1, verb));
        // 4 files, 4 parts per run: each part ran once, on either.
        assert_eq!(a + b, 4 * runs, "{verb}: {}", cluster.logs());
        assert!(
            a > 0 && b > 0,
            "{verb}: {a} and {b} parts\n{}",
            cluster.logs()
        );
    }
    // SIGTERM stops every node, also executors that have run fleet jobs (whose Ctrl-C
    // handler once swallowed the signal, leaving the executor running).
    for node in [Some(0), Some(1), None] {
        let code = cluster.terminate(node);
        assert!(
            matches!(code, Some(0) | Some(143) | None),
            "{node:?} exited with {code:?}"
        );
    }
}

#[test]
fn a_path_missing_on_the_executor_is_one_line_and_exit_2() {
    let data = gps(2, 200);
    let path = data.path().to_str().unwrap();
    let map = format!("{path}=/nonexistent/fleet-cluster-test");
    let cluster = Cluster::start(&[(&["--path-map", &map], &[])]);
    let url = cluster.url();
    for args in [
        vec!["agg", "--cluster", &url, "--group-by", "id", path],
        vec!["scan", "--cluster", &url, "-w", "speed>5", path],
    ] {
        let out = fleet(&args);
        let line = one_error_line(&out);
        assert!(
            line.contains("/nonexistent/fleet-cluster-test") && line.contains("on executor"),
            "{line}\n{}",
            cluster.logs()
        );
        assert!(out.stdout.is_empty(), "{}", stdout(&out));
    }
}

#[test]
fn another_fleet_version_is_refused_naming_both() {
    let data = gps(2, 200);
    let path = data.path().to_str().unwrap();
    let cluster = Cluster::start(&[NONE]);
    let url = cluster.url();
    let out = fleet_env(
        &["agg", "--cluster", &url, "--group-by", "id", path],
        &[("FLEET_CLUSTER_VERSION", "0.0.0-other")],
    );
    let line = one_error_line(&out);
    assert!(
        line.contains("fleet version mismatch") && line.contains("0.0.0-other"),
        "{line}"
    );
    // An executor of another version refuses the scheduler's task; Ballista only tells the
    // scheduler "rejected", so the client's line says where to look, and the executor's
    // stderr names both versions.
    let cluster = Cluster::start(&[(&[], &[("FLEET_CLUSTER_VERSION", "0.0.0-other")])]);
    let out = fleet(&["agg", "--cluster", &cluster.url(), "--group-by", "id", path]);
    let line = one_error_line(&out);
    assert!(
        line.contains("rejected by executor") && line.contains("same fleet build"),
        "{line}\n{}",
        cluster.logs()
    );
    let log = cluster.executor_log(0);
    assert!(
        log.contains("fleet version mismatch: the plan comes from fleet 0.1.0")
            && log.contains("this node runs fleet 0.0.0-other"),
        "{log}"
    );
}

/// Executor 0 stalls in its first part (the engine's test knob: alive, no progress) and is
/// killed with SIGKILL while it holds the task; the scheduler counts it lost after
/// `--executor-timeout` and runs the task again on executor 1: the result is still exactly
/// the local one.
#[test]
fn an_executor_killed_mid_query_has_its_task_run_again_elsewhere() {
    let data = gps(4, 2000);
    let path = data.path().to_str().unwrap().to_string();
    let mut cluster = Cluster::start(&[(&[], &[("FLEET_TEST_FAULT", "stall:0")]), NONE]);
    let local = fleet(&["agg", "--group-by", "id", "--agg", "count", &path]);
    assert!(local.status.success(), "{}", stderr(&local));
    let url = cluster.url();
    let client = std::thread::spawn(move || {
        let mut cmd = common::fleet();
        cmd.args([
            "agg",
            "--cluster",
            &url,
            "--group-by",
            "id",
            "--agg",
            "count",
        ])
        .arg(data.path());
        common::output_within(&mut cmd, 300)
    });
    poll(
        "executor 0 to start a part",
        120,
        || cluster.executor_log(0).contains("running agg part"),
        || cluster.logs(),
    );
    cluster.kill_executor(0);
    let out = client.join().unwrap();
    assert!(out.status.success(), "{}\n{}", stderr(&out), cluster.logs());
    assert!(local.stdout == out.stdout, "local and cluster differ");
    assert!(
        cluster.scheduler_log().contains("removed"),
        "{}",
        cluster.logs()
    );
    assert_eq!(parts_run(&cluster, 1, "agg"), 4, "{}", cluster.logs());
}
