//! The survey page in a real headless Chromium, driven through the DevTools protocol: raters
//! open `survey.html`, enter their names, get their own order of songs and pictures, rate every
//! one, and press Save; the CSVs Chromium downloads go to `moodscape survey report`. Chromium
//! also decodes every excerpt, as it would to play it.
//!
//! Needs Debian's `chromium` package (`.ci/run` installs it); without it the test says so on
//! stderr and passes.

mod analysis_signals;
mod survey_common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use moodscape::survey::kit::{rater_order, rater_order_seed, PAGE_CSV_COLUMNS};
use moodscape::survey::read_items;
use survey_common::{moodscape, scratch_dir, succeed, write_song};

/// The Chromium binary, if installed.
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH")?
                .to_str()?
                .split(':')
                .map(|dir| Path::new(dir).join(name))
                .find(|path| path.is_file())
        })
}

/// What the test does as the rater, evaluated in the loaded page through the DevTools
/// protocol: types the name, presses Start, rates every question by a rule the test can check,
/// presses Save (the browser downloads the CSV for real), and decodes every excerpt with the
/// browser's own audio decoder. Resolves to lines of text for the test to read.
const RATER_SCRIPT: &str = r#"(async function (rater) {
  var out = [];
  document.getElementById('rater').value = rater;
  document.getElementById('start').click();
  var order = [];
  document.querySelectorAll('.q').forEach(function (q) {
    var code = q.dataset.code, n = parseInt(code.slice(1), 10);
    order.push(code);
    var v = 1 + (n * 3 + rater.length) % 9, a = 1 + (n * 5 + 2) % 9;
    q.querySelector('input[name="' + code + '-v"][value="' + v + '"]').click();
    q.querySelector('input[name="' + code + '-a"][value="' + a + '"]').click();
  });
  document.getElementById('save').click();
  out.push('ORDER ' + order.join(' '));
  out.push('STATUS ' + document.getElementById('status').textContent);
  var audios = Array.prototype.slice.call(document.querySelectorAll('audio'));
  for (var i = 0; i < audios.length; i++) {
    var src = audios[i].getAttribute('src');
    out.push('AUDIO ' + src + ' ' + await new Promise(function (done) {
      var request = new XMLHttpRequest();
      request.open('GET', src);
      request.responseType = 'arraybuffer';
      request.onload = function () {
        new OfflineAudioContext(1, 1, 44100).decodeAudioData(request.response).then(
          function (buffer) { done('ok ' + buffer.duration); },
          function (error) { done('error ' + error); });
      };
      request.onerror = function () { done('error cannot read'); };
      request.send();
    }));
  }
  return out.join('\n');
})"#;

/// A minimal DevTools-protocol client over `--remote-debugging-pipe` (JSON messages ended by a
/// NUL byte; the browser reads fd 3 and writes fd 4), so the test needs no websocket crate.
mod devtools {
    use std::io::{BufRead, BufReader, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};

    use super::BROWSER_GONE;
    use std::time::{Duration, Instant};

    extern "C" {
        fn fcntl(fd: i32, command: i32, ...) -> i32;
        fn dup2(from: i32, to: i32) -> i32;
    }
    /// `F_DUPFD` on Linux: duplicate to the lowest free descriptor at or above the argument.
    const F_DUPFD: i32 = 0;

    pub struct Browser {
        child: Child,
        to_browser: std::io::PipeWriter,
        messages: Receiver<serde_json::Value>,
        next_id: u64,
    }

    impl Browser {
        pub fn launch(binary: &std::path::Path, profile: &std::path::Path) -> Browser {
            let (browser_reads, to_browser) = std::io::pipe().unwrap();
            let (from_browser, browser_writes) = std::io::pipe().unwrap();
            let (read_fd, write_fd) = (browser_reads.as_raw_fd(), browser_writes.as_raw_fd());
            let mut command = Command::new(binary);
            command
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--allow-file-access-from-files",
                    "--remote-debugging-pipe",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .arg("about:blank")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // SAFETY: only async-signal-safe calls between fork and exec. Both ends are first
            // copied above fd 10 (F_DUPFD clears close-on-exec), so placing them on 3 and 4
            // cannot clobber one with the other.
            unsafe {
                command.pre_exec(move || {
                    let read_copy = fcntl(read_fd, F_DUPFD, 10);
                    let write_copy = fcntl(write_fd, F_DUPFD, 10);
                    if read_copy < 0
                        || write_copy < 0
                        || dup2(read_copy, 3) < 0
                        || dup2(write_copy, 4) < 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let child = command.spawn().expect("start chromium");
            drop((browser_reads, browser_writes));
            let (sender, messages) = channel();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(from_browser);
                let mut message = Vec::new();
                while reader.read_until(0, &mut message).unwrap_or(0) > 0 {
                    message.pop_if(|b| *b == 0);
                    if let Ok(value) = serde_json::from_slice(&message) {
                        if sender.send(value).is_err() {
                            break;
                        }
                    }
                    message.clear();
                }
            });
            Browser {
                child,
                to_browser,
                messages,
                next_id: 0,
            }
        }

        /// Sends one command (to a page session when given) and waits for its result.
        pub fn call(
            &mut self,
            session: Option<&str>,
            method: &str,
            params: serde_json::Value,
        ) -> serde_json::Value {
            self.next_id += 1;
            let id = self.next_id;
            let mut message = serde_json::json!({ "id": id, "method": method, "params": params });
            if let Some(session) = session {
                message["sessionId"] = session.into();
            }
            let mut bytes = serde_json::to_vec(&message).unwrap();
            bytes.push(0);
            if let Err(error) = self.to_browser.write_all(&bytes) {
                panic!("{BROWSER_GONE} ({method}: {error})");
            }
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let reply = match self.messages.recv_timeout(left) {
                    Ok(reply) => reply,
                    Err(RecvTimeoutError::Disconnected) => {
                        panic!("{BROWSER_GONE} (no answer to {method})")
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        panic!("no answer to {method} within 60 s")
                    }
                };
                if reply["id"] == id {
                    assert!(reply.get("error").is_none(), "{method}: {reply}");
                    return reply["result"].clone();
                }
            }
        }
    }

    impl Drop for Browser {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How a [`devtools::Browser`] call panics when the Chromium process has died under it.
const BROWSER_GONE: &str = "the Chromium process went away";

/// [`run_rater`] in a fresh profile, started again (three runs at most) when Chromium itself
/// died mid-run: once in a while headless Chromium exits under the DevTools pipe (a broken pipe
/// in one CI run of this test, not seen in reruns). Any other failure fails at once.
fn run_rater_in_chromium(
    browser: &Path,
    page: &Path,
    rater: &str,
    scratch: &Path,
) -> (String, String) {
    const RUNS: usize = 3;
    for run in 1..=RUNS {
        let attempt = scratch.join(format!("run-{run}"));
        match std::panic::catch_unwind(|| run_rater(browser, page, rater, &attempt)) {
            Ok(result) => return result,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("");
                if run == RUNS || !message.starts_with(BROWSER_GONE) {
                    std::panic::resume_unwind(panic);
                }
                eprintln!("run {run} of {RUNS} for {rater}: {message}; starting Chromium again");
            }
        }
    }
    unreachable!("the last run returns or panics")
}

/// Opens `page` as `rater` in a fresh headless Chromium, plays the rater, and returns what the
/// script reports plus the CSV the page downloaded.
fn run_rater(browser: &Path, page: &Path, rater: &str, scratch: &Path) -> (String, String) {
    let downloads = scratch.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let mut chromium = devtools::Browser::launch(browser, &scratch.join("profile"));
    chromium.call(
        None,
        "Browser.setDownloadBehavior",
        serde_json::json!({ "behavior": "allow", "downloadPath": downloads.to_str().unwrap() }),
    );
    let url = format!("file://{}", page.display());
    let target = chromium.call(
        None,
        "Target.createTarget",
        serde_json::json!({ "url": url }),
    );
    let session = chromium.call(
        None,
        "Target.attachToTarget",
        serde_json::json!({ "targetId": target["targetId"], "flatten": true }),
    )["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let evaluate = |chromium: &mut devtools::Browser, expression: &str| -> serde_json::Value {
        chromium.call(
            Some(&session),
            "Runtime.evaluate",
            serde_json::json!({
                "expression": expression,
                "awaitPromise": true,
                "returnByValue": true,
            }),
        )
    };
    let started = Instant::now();
    loop {
        let state = evaluate(
            &mut chromium,
            "location.protocol + ' ' + document.readyState + ' ' + !!document.getElementById('start')",
        );
        if state["result"]["value"] == "file: complete true" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "page never loaded: {state}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let result = evaluate(
        &mut chromium,
        &format!("{RATER_SCRIPT}({})", serde_json::json!(rater)),
    );
    assert!(
        result.get("exceptionDetails").is_none(),
        "the rater script failed: {result}"
    );
    let report = result["result"]["value"].as_str().unwrap().to_string();
    // The download lands a moment later.
    let saved = downloads.join(format!("ratings-{rater}.csv"));
    let started = Instant::now();
    while !saved.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the page saved no ratings-{rater}.csv"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(200));
    let csv = std::fs::read_to_string(&saved).unwrap();
    (report, csv)
}

#[test]
fn raters_fill_the_page_in_chromium_and_the_report_reads_their_csvs() {
    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED raters_fill_the_page_in_chromium_and_the_report_reads_their_csvs: \
             Chromium is not installed (apt-get install chromium)"
        );
        return;
    };
    let dir = scratch_dir("survey_browser", "page");
    let library = dir.join("library");
    std::fs::create_dir_all(&library).unwrap();
    for (k, (bpm, tonic, minor)) in [
        (150.0, 0, false),
        (70.0, 9, true),
        (120.0, 7, false),
        (90.0, 2, true),
        (135.0, 4, true),
    ]
    .into_iter()
    .enumerate()
    {
        write_song(&library.join(format!("song{k}.wav")), bpm, tonic, minor);
    }
    let kit = dir.join("kit");
    succeed(moodscape(&[
        "survey",
        "kit",
        library.to_str().unwrap(),
        "--count",
        "5",
        "--out",
        kit.to_str().unwrap(),
    ]));
    let items = read_items(&kit.join("items.csv")).unwrap();
    assert_eq!(items.len(), 5);
    let page = kit.join("survey/survey.html");

    let mut song_codes: Vec<String> = items.iter().map(|i| i.song_code.clone()).collect();
    song_codes.sort();
    let mut image_codes: Vec<String> = items.iter().map(|i| i.image_code.clone()).collect();
    image_codes.sort();

    let mut csv_files = Vec::new();
    let mut orders = Vec::new();
    for rater in ["Ann", "Bo", "Ann"] {
        let scratch = dir.join(format!("rater-{}", csv_files.len()));
        let (out, csv) = run_rater_in_chromium(&browser, &page, rater, &scratch);
        let line = |tag: &str| -> &str {
            out.lines()
                .find_map(|l| l.strip_prefix(tag))
                .unwrap_or_else(|| panic!("no {tag} in {out}"))
        };
        assert!(line("STATUS ").starts_with("10 ratings saved."), "{out}");

        // Every excerpt decodes in Chromium and lasts what the kit wrote (12 s songs, whole).
        let audio: Vec<&str> = out.lines().filter(|l| l.starts_with("AUDIO ")).collect();
        assert_eq!(audio.len(), 5, "{out}");
        for line in audio {
            let seconds: f64 = line
                .split(" ok ")
                .nth(1)
                .unwrap_or_else(|| panic!("Chromium cannot decode: {line}"))
                .parse()
                .unwrap();
            assert!((seconds - 12.0).abs() < 0.05, "{line}");
        }

        // The order on screen is the rater's own, as kit.rs computes it from the name: songs
        // first, then pictures, each part shuffled on its own.
        let seed = rater_order_seed(rater);
        let shown: Vec<String> = line("ORDER ").split(' ').map(str::to_string).collect();
        let mut expected = rater_order(&song_codes, seed, 0);
        expected.extend(rater_order(&image_codes, seed, 1));
        assert_eq!(shown, expected, "{rater}'s order");

        // The saved CSV: the page's header, the seed and each code's position on screen, and
        // the values the script clicked.
        let mut lines = csv.lines();
        assert_eq!(lines.next().unwrap(), PAGE_CSV_COLUMNS.join(","));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len(), 10);
        for row in &rows {
            let code = row[1];
            let n: usize = code[1..].parse().unwrap();
            assert_eq!(row[0], format!("\"{rater}\""));
            assert_eq!(
                row[2],
                (1 + (n * 3 + rater.len()) % 9).to_string(),
                "{code}"
            );
            assert_eq!(row[3], (1 + (n * 5 + 2) % 9).to_string(), "{code}");
            assert_eq!(row[4], seed.to_string());
            let part = if code.starts_with('S') { 0..5 } else { 5..10 };
            let position: usize = row[5].parse().unwrap();
            assert_eq!(shown[part.start + position - 1], code, "{code} position");
        }
        orders.push(shown);
        let path = dir.join(format!("ratings-{rater}-{}.csv", csv_files.len()));
        std::fs::write(&path, &csv).unwrap();
        csv_files.push(path);
    }
    // Same name, same order; another name, another order (for songs and for pictures).
    assert_eq!(orders[0], orders[2]);
    assert_ne!(
        orders[0][..5],
        orders[1][..5],
        "songs in the same order for two raters"
    );
    assert_ne!(
        orders[0][5..],
        orders[1][5..],
        "pictures in the same order for two raters"
    );

    // The report reads what the page saved.
    let json = dir.join("report.json");
    let markdown = succeed(moodscape(&[
        "survey",
        "report",
        "--kit",
        kit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        csv_files[0].to_str().unwrap(),
        csv_files[1].to_str().unwrap(),
    ]));
    assert!(markdown.contains("5 of 5 items scored"), "{markdown}");
    assert!(markdown.contains("2 raters, 20 ratings"), "{markdown}");
}
