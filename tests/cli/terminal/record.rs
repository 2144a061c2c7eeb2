//! The record tells the truth, in a real terminal: declining an automated action never marks it
//! done, resume answers "did it complete?" from what is on disk and in the journal, and a step
//! whose items are not all done is partly done until it is reopened.

use super::*;

/// The menu entry the cursor is on, in the pending menu of the latest command: the default.
fn highlighted(screen: &str) -> String {
    let lines: Vec<&str> = since_command(screen).lines().collect();
    let at = lines.iter().rposition(|l| is_pending(l)).unwrap_or(0);
    lines[at..]
        .iter()
        .find_map(|l| l.strip_prefix("❯ "))
        .unwrap_or("")
        .trim_end()
        .to_string()
}

/// Answers prompts of a rehearsal of hmc45-ur6 (no Update Rollup 5, not upgraded from 4.0), the
/// way an operator would, until the prompt `stop_at`; returns its screen.
fn rehearse_hmc45_until(t: &mut Terminal, stop_at: &str) -> String {
    loop {
        let Some(prompt) = t.next_prompt() else {
            panic!("the run ended before `{stop_at}`:\n{}", t.screen());
        };
        if prompt.contains(stop_at) {
            return t.history();
        }
        let keys = hmc45_rehearsal_keys(t, &prompt);
        t.answer(keys);
    }
}

/// Writes `text` as the runbook `name` in the terminal's folder and starts `stepwise run` of
/// it there, its state in the terminal's state folder.
fn run_book(t: &mut Terminal, name: &str, text: &str) {
    let book = t.path(name);
    fs::write(&book, text).unwrap();
    let state = t.state_dir().display().to_string();
    t.run(&["run", &book.display().to_string(), "--state-dir", &state]);
}

/// Runs a runbook whose one step `slow` ("A slow command") runs the program and arguments
/// `command` (a YAML flow map's tail: `sleep, args: ['60']`), says yes to running it, and
/// waits until the journal says it started: the run's folder and the command's process id.
fn start_slow_command(t: &mut Terminal, command: &str) -> (std::path::PathBuf, u32) {
    run_book(
        t,
        "slow.yaml",
        &format!(
            "id: slow\ntitle: Slow\narticle: KB0\nproduct: stepwise tests\nphases:\n  - id: main\n    title: Main\n    steps:\n      - id: slow\n        title: A slow command\n        action: {{ type: command, program: {command} }}\n"
        ),
    );
    t.prompt("Run step 1.1 now?");
    t.answer(&["y"]);
    crate::common::command_started(&t.state_dir(), WAIT)
}

/// Starts `stepwise resume` of the run in the terminal's state folder.
fn resume(t: &mut Terminal) {
    let state = t.state_dir().display().to_string();
    t.run(&["resume", "--state-dir", &state]);
}

#[test]
fn two_enters_after_declining_a_copy_leave_it_not_done() {
    let Some(mut t) = terminal("declined") else {
        return;
    };
    let state = t.state_dir().display().to_string();
    // Item 1 of the issue, as written: a rehearsal, step 3.2, Enter at "Run step 3.2 now?"
    // (default no), then Enter at the menu that follows.
    t.run(&[
        "run",
        "hmc45-ur6",
        "--rehearse",
        "--set",
        "ur5_installed=false",
        "--set",
        "upgraded_from_hmc40=false",
        "--state-dir",
        &state,
    ]);
    let h = rehearse_hmc45_until(&mut t, "Run step 3.2 now?");
    assert!(current_step(&h).contains("Step 3.2"), "{h}");
    t.answer(&["Enter"]);
    let h = t.prompt("Step 3.2 was not run. What now?");
    assert!(
        h.contains(
            "   Not run. It is not done until it runs, or you do it by hand and say what you did."
        ),
        "{h}"
    );
    // Nothing here is plain "done", and the default runs nothing and marks nothing.
    assert_eq!(highlighted(&h), "Pause: save and exit", "{h}");
    for entry in [
        "  Run it now",
        "  I did it by hand: mark it done by hand (a note is required)",
        "  Skip (a reason is required)",
    ] {
        assert!(h.contains(entry), "`{entry}` is not offered:\n{h}");
    }
    t.answer(&["Enter"]);
    assert_eq!(t.exit_code(), 3);
    let h = t.history();
    assert!(
        h.contains("Paused. Progress is saved; `stepwise resume "),
        "{h}"
    );
    assert!(h.contains("\nSummary: "), "{h}");

    let (run, events, progress) = the_run(&t.state_dir());
    let copy = "copy-msis";
    assert_eq!(progress.state(copy), &InstanceState::Pending);
    assert!(
        !events
            .iter()
            .any(|e| e.kind.key() == Some(copy) && e.kind.name() == "instance_done"),
        "{:?}",
        kinds(&events)
    );
    assert_eq!(kinds(&events).last(), Some(&"paused"));
    // The share still holds the old files, and the as-run checklist leaves the box empty.
    let sandbox = h
        .lines()
        .find_map(|l| l.strip_prefix("Sandbox: "))
        .map(|s| PathBuf::from(s.trim_end()))
        .unwrap();
    let old = fs::read_dir(sandbox.join("msi_share"))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|c| c.starts_with("old version of "))
        .count();
    assert!(old > 0, "the share keeps its old MSIs");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(["checklist", "hmc45-ur6", "--run"])
        .arg(run.dir())
        .output()
        .unwrap();
    let sheet = String::from_utf8(out.stdout).unwrap();
    let line = sheet
        .lines()
        .skip_while(|l| !l.contains("3.2"))
        .find(|l| l.trim_start().starts_with('['))
        .unwrap_or_default();
    assert!(line.trim_start().starts_with("[ ]"), "{line}\n{sheet}");
}

/// `automated.yaml` run through its copy with an answers file, and the journal cut right after
/// the copy's `instance_started`: what a `kill -9` at that moment leaves (the journal is
/// append-only and synced per event, so a crash leaves exactly such a prefix). The share is then
/// set to hold `in_place` of the package's files, the others old or missing.
fn copy_in_doubt(t: &Terminal, f: &Folders, in_place: &[&str], partial: Option<&str>) {
    let answers = t.path("answers.yaml");
    fs::write(
        &answers,
        "steps:\n  copy-package: { confirm: true }\nhosts: { web: [WEB01, WEB02] }\n",
    )
    .unwrap();
    let mut args = f.run_args(t);
    args.push("--answers".into());
    args.push(answers.display().to_string());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(&args)
        .current_dir(t.dir.path())
        .env("USER", OPERATOR)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (run, _, _) = the_run(&t.state_dir());
    let text = fs::read_to_string(run.journal_path()).unwrap();
    let cut = text
        .lines()
        .position(|l| l.contains("\"instance_started\"") && l.contains("copy-package"))
        .unwrap();
    let prefix: String = text
        .lines()
        .take(cut + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(run.journal_path(), prefix).unwrap();
    for (name, size) in PACKAGE {
        let path = f.share.join(name);
        if in_place.contains(&name) {
            continue;
        }
        if name == "Alpha.msi" {
            fs::write(&path, "old Alpha\n").unwrap();
        } else {
            let _ = fs::remove_file(&path);
        }
        assert!(size > 0);
    }
    if let Some(name) = partial {
        fs::write(
            f.share.join(format!(".{name}.stepwise-part")),
            vec![b'N'; 1000],
        )
        .unwrap();
    }
}

const IN_DOUBT: &str = "Step copy-package (Back up and copy the package) was started and never finished. Did it complete?";

#[test]
fn a_copy_cut_off_with_some_files_in_place_is_finished_by_default() {
    let Some(mut t) = terminal("doubt-some") else {
        return;
    };
    let f = Folders::prepare(&t);
    copy_in_doubt(&t, &f, &["Beta.msi", "Gamma.msi"], Some("Delta.msi"));
    resume(&mut t);
    let h = t.prompt(IN_DOUBT);
    for text in [
        &format!(
            "   It was interrupted. What the files look like now: 2 of 4 files in place in {}\n",
            f.share.display()
        ),
        "     Alpha.msi  old version (differs from the source: not copied yet)\n",
        "     Beta.msi   in place (content matches the source)\n",
        "     Gamma.msi  in place (content matches the source)\n",
        "     Delta.msi  missing (not copied yet); partial temporary file .Delta.msi.stepwise-part beside it\n",
        "   Not every file is in place: the evidence says it did not complete.\n",
        "  It completed: mark it done (a note is required: the evidence says it did not)\n",
    ] {
        assert!(h.contains(text), "`{text}` is not on the screen:\n{h}");
    }
    assert!(!h.contains(" ok "), "nothing reads as done:\n{h}");
    assert_eq!(
        highlighted(&h),
        "It did not complete: finish the copy (copies only what is not in place, keeps the backups)"
    );
    t.answer(&["Enter"]);
    t.prompt("Run step 1.1 now?");
    t.answer(&["y"]);
    let h = t.prompt("Run step 1.2 now?");
    assert!(
        h.contains(&format!(
            "   ✓ copied 2 files to {} (2 already in place)",
            f.share.display()
        )),
        "{h}"
    );
    // Declined, then Enter: paused, nothing marked.
    t.answer(&["Enter"]);
    t.prompt("Step 1.2 was not run. What now?");
    t.answer(&["Enter"]);
    assert_eq!(t.exit_code(), 3);

    let (run, events, progress) = the_run(&t.state_dir());
    assert_eq!(
        progress.state("copy-package"),
        &InstanceState::Done(Completion::Automated)
    );
    assert_eq!(progress.state("write-config"), &InstanceState::Pending);
    let resolved = events
        .iter()
        .find(|e| e.kind.name() == "in_doubt_resolved")
        .unwrap();
    assert_eq!(
        resolved.kind,
        EventKind::InDoubtResolved {
            key: "copy-package".into(),
            resolution: journal::Resolution::NotDone,
            how: None
        }
    );
    for (name, size) in PACKAGE {
        assert_eq!(fs::metadata(f.share.join(name)).unwrap().len(), size as u64);
    }
    assert!(
        !f.share.join(".Delta.msi.stepwise-part").exists(),
        "the partial file is gone"
    );
    assert_eq!(
        fs::read_to_string(run.backup_dir().join("copy-package/Alpha.msi")).unwrap(),
        "old Alpha\n"
    );
}

#[test]
fn a_copy_cut_off_with_every_file_in_place_is_done_by_default() {
    let Some(mut t) = terminal("doubt-all") else {
        return;
    };
    let f = Folders::prepare(&t);
    copy_in_doubt(
        &t,
        &f,
        &["Alpha.msi", "Beta.msi", "Gamma.msi", "Delta.msi"],
        Some("Beta.msi"),
    );
    resume(&mut t);
    let h = t.prompt(IN_DOUBT);
    for text in [
        "What the files look like now: 4 of 4 files in place in ",
        "     Alpha.msi  in place (content matches the source)\n",
        "     Beta.msi   in place (content matches the source); partial temporary file .Beta.msi.stepwise-part beside it\n",
        "   Every file is in place: the evidence says it completed.\n",
    ] {
        assert!(h.contains(text), "`{text}` is not on the screen:\n{h}");
    }
    assert_eq!(
        highlighted(&h),
        "It completed: mark it done (the evidence shows it)"
    );
    t.answer(&["Enter"]);
    t.prompt("Note (optional)");
    t.answer(&["Enter"]);
    let h = t.prompt("Run step 1.2 now?");
    assert!(
        h.contains(&format!(
            "   Removed the partial temporary file {}.",
            f.share.join(".Beta.msi.stepwise-part").display()
        )),
        "{h}"
    );
    t.send(&["C-c"]);
    assert_eq!(t.exit_code(), 130);
    let (_, events, progress) = the_run(&t.state_dir());
    // Done on the evidence: the files, not the operator's word.
    assert_eq!(
        progress.state("copy-package"),
        &InstanceState::Done(Completion::Automated)
    );
    let resolved = events
        .iter()
        .find(|e| e.kind.name() == "in_doubt_resolved")
        .unwrap();
    assert_eq!(
        resolved.note.as_deref(),
        Some("the evidence shows it completed")
    );
    assert!(!f.share.join(".Beta.msi.stepwise-part").exists());
}

#[test]
fn a_copy_cut_off_before_any_file_needs_a_note_to_be_called_done() {
    let Some(mut t) = terminal("doubt-none") else {
        return;
    };
    let f = Folders::prepare(&t);
    copy_in_doubt(&t, &f, &[], None);
    resume(&mut t);
    let h = t.prompt(IN_DOUBT);
    for text in [
        "What the files look like now: 0 of 4 files in place in ",
        "     Alpha.msi  old version (differs from the source: not copied yet)\n",
        "     Beta.msi   missing (not copied yet)\n",
        "     Delta.msi  missing (not copied yet)\n",
    ] {
        assert!(h.contains(text), "`{text}` is not on the screen:\n{h}");
    }
    assert!(
        highlighted(&h).starts_with("It did not complete: finish the copy"),
        "{h}"
    );
    // "It completed" against the evidence: a note is required, and it is recorded as by hand.
    t.choose("It completed: mark it done (a note is required");
    t.prompt("How do you know? (note)");
    t.type_answer("copied from the other jump host with robocopy");
    t.prompt("Run step 1.2 now?");
    t.send(&["C-c"]);
    assert_eq!(t.exit_code(), 130);
    let (_, events, progress) = the_run(&t.state_dir());
    assert_eq!(
        progress.state("copy-package"),
        &InstanceState::Done(Completion::ByHand)
    );
    let resolved = events
        .iter()
        .find(|e| e.kind.name() == "in_doubt_resolved")
        .unwrap();
    assert_eq!(
        resolved.kind,
        EventKind::InDoubtResolved {
            key: "copy-package".into(),
            resolution: journal::Resolution::Done,
            how: Some(Completion::ByHand)
        }
    );
    assert_eq!(
        resolved.note.as_deref(),
        Some("copied from the other jump host with robocopy")
    );
}

#[test]
fn ctrl_c_during_a_command_defaults_to_not_completed_on_resume() {
    let Some(mut t) = terminal("doubt-command") else {
        return;
    };
    start_slow_command(&mut t, "sh, args: [-c, 'echo working; sleep 30']");
    // The journal says the command runs: Ctrl-C.
    t.send(&["C-c"]);
    assert_eq!(t.exit_code(), 130);

    resume(&mut t);
    let h = t.prompt("Step slow (A slow command) was started and never finished. Did it complete?");
    assert!(
        h.contains("   The command was stopped before it exited: it did not complete. What it printed is in output/"),
        "{h}"
    );
    assert_eq!(
        highlighted(&h),
        "It did not complete: show the step again (you are asked before it runs)"
    );
    t.answer(&["Enter"]);
    // Shown again, and asked before it runs: decline, then Enter pauses.
    t.prompt("Run step 1.1 now?");
    t.answer(&["Enter"]);
    t.prompt("Step 1.1 was not run. What now?");
    t.answer(&["Enter"]);
    assert_eq!(t.exit_code(), 3);
    let (_, events, progress) = the_run(&t.state_dir());
    assert_eq!(progress.state("slow"), &InstanceState::Pending);
    assert!(kinds(&events).contains(&"in_doubt_resolved"));
}

#[test]
fn a_step_with_items_not_all_done_is_partly_done_until_reopened() {
    let Some(mut t) = terminal("items") else {
        return;
    };
    run_book(
        &mut t,
        "items.yaml",
        "id: items\ntitle: Items\narticle: KB0\nproduct: stepwise tests\nphases:\n  - id: main\n    title: Main\n    steps:\n      - id: uninstall\n        title: Uninstall the components\n        items: [Resource Manager, Hosted Email, Hosted SharePoint]\n      - id: last\n        title: Last step\n",
    );
    t.prompt("Step 1.1: what now?");
    t.choose("Done");
    // Item 3 of the issue: Done, and tick only the first item.
    t.prompt("Tick every item done");
    t.answer(&["Space", "Enter"]);
    t.prompt("Why is \"Hosted Email\" not done?");
    t.type_answer("the installer hangs");
    t.prompt("Why is \"Hosted SharePoint\" not done?");
    t.type_answer("waiting for the SharePoint team");
    let h = t.prompt("Step 1.2: what now?");
    assert!(
        h.contains(
            "   Partly done: 2 of 3 items left:\n     - Hosted Email\n     - Hosted SharePoint\n   It is not counted as done; reopen it when the items are done.\n"
        ),
        "{h}"
    );
    // Show the plan: what is left.
    t.choose("Show the plan");
    let h = t.prompt("Step 1.2: what now?");
    assert!(
        h.contains("   [~] 1.1   uninstall: partly done: 2 items left (hosted-email, hosted-sharepoint)\n   [ ] 1.2   last: to do  ← here\n   1 of 2 step instances left."),
        "{h}"
    );
    t.choose("Done");
    let h = t.prompt("Every step instance is settled; 1 can be reopened. Finish the run?");
    assert_eq!(highlighted(&h), "Finish the run");
    // Status and the checklist say partly done before the operator reopens it.
    let state = t.state_dir().display().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(["status", "--state-dir", &state, "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["runs"][0]["counts"]["partly_done"], 1);
    assert_eq!(list["runs"][0]["counts"]["done"], 1);
    t.choose("Reopen 1.1 uninstall");
    t.prompt("Step 1.1: what now?");
    t.choose("Done");
    t.prompt("Tick every item done");
    t.answer(&["a", "Enter"]);
    assert_eq!(t.exit_code(), 0);
    let h = t.history();
    assert!(
        h.contains("   Reopened uninstall: it is to do again."),
        "{h}"
    );
    assert!(
        h.contains("Summary: 2 step instances: 2 done (2 by hand), 0 skipped, 0 partly done, 0 failed, 0 left"),
        "{h}"
    );
    let (_, events, progress) = the_run(&t.state_dir());
    let k = kinds(&events);
    assert!(
        k.contains(&"instance_partly_done") && k.contains(&"instance_reopened"),
        "{k:?}"
    );
    assert_eq!(
        progress.state("uninstall"),
        &InstanceState::Done(Completion::Confirmed)
    );
    assert_finished(&progress);
}

#[test]
fn a_skip_can_be_cancelled_and_a_failure_can_pause() {
    let Some(mut t) = terminal("fail-pause") else {
        return;
    };
    let work = t.path("work");
    fs::create_dir(&work).unwrap();
    let state = t.state_dir().display().to_string();
    let set = format!("work_dir={}", work.display());
    let book = runbook("failing.yaml");
    let inventory = web_local();
    t.run(&[
        "run",
        &book,
        "--inventory",
        &inventory,
        "--set",
        &set,
        "--state-dir",
        &state,
    ]);
    t.prompt("Hosts for Web servers");
    t.answer(&["Enter"]);
    t.prompt("Run step 1.1 on WEB01 now?");
    t.answer(&["y"]);
    let h = t.prompt("start-service@WEB01 failed. What now?");
    assert!(
        h.contains("  Pause: save and exit (resume takes it up again)"),
        "{h}"
    );
    t.choose("Skip this host");
    t.prompt("Why skip this host?");
    // An empty reason is refused, with a message saying a reason is required.
    t.answer(&["Enter"]);
    let h = t.prompt("No reason given. What now?");
    assert!(h.contains("  A reason is required.\n"), "{h}");
    t.choose("Go back: do not skip");
    t.prompt("start-service@WEB01 failed. What now?");
    t.choose("Pause: save and exit");
    assert_eq!(t.exit_code(), 3);
    let (_, events, progress) = the_run(&t.state_dir());
    assert_eq!(kinds(&events).last(), Some(&"paused"));
    assert!(matches!(
        progress.state("start-service@WEB01"),
        InstanceState::Failed { .. }
    ));
    assert!(!kinds(&events).contains(&"instance_skipped"));
    // Resume takes the failed instance up again.
    resume(&mut t);
    let h = t.prompt("Run step 1.1 on WEB01 now?");
    assert!(h.contains("1 failed, 3 left of 3"), "{h}");
    t.send(&["C-c"]);
    assert_eq!(t.exit_code(), 130);
}

#[test]
fn a_copy_killed_as_it_starts_is_described_as_the_disk_shows_it() {
    let Some(mut t) = terminal("doubt-kill") else {
        return;
    };
    let f = Folders::prepare(&t);
    let answers = t.path("answers.yaml");
    fs::write(
        &answers,
        "steps:\n  copy-package: { confirm: true }\nhosts: { web: [WEB01, WEB02] }\n",
    )
    .unwrap();
    let mut args = f.run_args(&t);
    args.push("--answers".into());
    args.push(answers.display().to_string());
    // A real copy, and `kill -9` as soon as `instance_started` is in the journal (item 2 of the
    // issue, as written). Where the kill lands in the copy is up to the machine: the test checks
    // that resume describes whatever is on disk, and defaults to what that supports.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(&args)
        .current_dir(t.dir.path())
        .env("USER", OPERATOR)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let started = journal::list_runs(&t.state_dir())
            .ok()
            .and_then(|runs| runs.into_iter().next())
            .and_then(|r| r.run.ok())
            .and_then(|run| fs::read_to_string(run.journal_path()).ok())
            .is_some_and(|j| j.contains("\"instance_started\""));
        if started {
            break;
        }
        assert!(start.elapsed() < WAIT, "the copy never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (_, _, progress) = the_run(&t.state_dir());
    if progress.state("copy-package") != &InstanceState::Started {
        // The copy finished before the kill landed: nothing is in doubt, nothing to describe.
        eprintln!("the kill landed after the copy finished; nothing was in doubt");
        return;
    }
    let mut in_place = 0;
    let mut expected = Vec::new();
    for (name, _) in PACKAGE {
        let dest = fs::read(f.share.join(name)).ok();
        let source = fs::read(f.package.join(name)).unwrap();
        let state = match dest {
            Some(d) if d == source => {
                in_place += 1;
                "in place (content matches the source)"
            }
            Some(_) => "old version (differs from the source: not copied yet)",
            None => "missing (not copied yet)",
        };
        expected.push(format!("     {name:<9}  {state}"));
    }
    eprintln!("the kill landed with {in_place} of 4 files in place");
    resume(&mut t);
    let h = t.prompt(IN_DOUBT);
    assert!(
        h.contains(&format!(
            "What the files look like now: {in_place} of 4 files in place in "
        )),
        "{h}"
    );
    for line in &expected {
        assert!(
            h.contains(line.as_str()),
            "`{line}` is not on the screen:\n{h}"
        );
    }
    let default = highlighted(&h);
    if in_place == 4 {
        assert_eq!(
            default,
            "It completed: mark it done (the evidence shows it)"
        );
    } else {
        assert!(
            default.starts_with("It did not complete: finish the copy"),
            "{default}\n{h}"
        );
    }
    t.send(&["C-c"]);
    assert_eq!(t.exit_code(), 130);
}

#[test]
fn a_command_still_running_after_a_kill_is_waited_for_never_run_again() {
    let Some(mut t) = terminal("still-running") else {
        return;
    };
    // The command's process, once journaled; then stepwise itself is killed outright (its pid
    // is in the run's lock.json), leaving the command running.
    let (run, command) = start_slow_command(&mut t, "sleep, args: ['60']");
    let holder: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(run.join("lock.json")).unwrap()).unwrap();
    let stepwise = holder["pid"].as_u64().unwrap().to_string();
    let kill = |sig: &str, pid: &str| {
        std::process::Command::new("kill")
            .args([sig, pid])
            .status()
            .unwrap()
    };
    assert!(kill("-9", &stepwise).success());
    t.exit_code();

    resume(&mut t);
    let h = t.prompt("Step slow (A slow command) was started and never finished. Did it complete?");
    let command = command.to_string();
    assert!(
        h.contains(&format!(
            "   The command is still running as process {command} on this machine: it is not run again while it runs.\n"
        )),
        "{h}"
    );
    assert_eq!(highlighted(&h), "Wait for it to end, then look again");
    assert!(!since_command(&h).contains("It did not complete"), "{h}");
    // It ends (here, stopped by the test); waiting sees it end and asks again from the evidence.
    assert!(kill("-TERM", &command).success());
    t.answer(&["Enter"]);
    let h = t.prompt("Step slow (A slow command) was started and never finished. Did it complete?");
    assert!(
        h.contains(&format!("   Process {command} has ended.\n")),
        "{h}"
    );
    assert!(
        h.contains(&format!(
            "   The journal has no result of the command, and its process {command} has ended: nothing here tells whether it succeeded.\n"
        )),
        "{h}"
    );
    assert_eq!(
        highlighted(&h),
        "It did not complete: show the step again (you are asked before it runs)"
    );
    t.choose("Pause: save and exit");
    assert_eq!(t.exit_code(), 3);
    let (_, _, progress) = the_run(&t.state_dir());
    assert_eq!(progress.state("slow"), &InstanceState::Started);
    assert_eq!(progress.instance("slow").unwrap().attempts, 1);
}

#[test]
fn an_earlier_step_is_reopened_from_a_step_menu_and_the_walk_comes_back() {
    let Some(mut t) = terminal("revisit-menu") else {
        return;
    };
    run_book(
        &mut t,
        "items.yaml",
        "id: items\ntitle: Items\narticle: KB0\nproduct: stepwise tests\nphases:\n  - id: main\n    title: Main\n    steps:\n      - id: first\n        title: First step\n      - id: second\n        title: Second step\n",
    );
    t.prompt("Step 1.1: what now?");
    t.choose("Skip (a reason is required)");
    t.prompt("Why skip it?");
    t.type_answer("the console was busy");
    let h = t.prompt("Step 1.2: what now?");
    assert!(
        h.contains("  Revisit an earlier step (1 skipped, partly done or done by hand)"),
        "{h}"
    );
    t.choose("Revisit an earlier step");
    let h = t.prompt("Reopen which step instance?");
    assert_eq!(highlighted(&h), "Go back");
    t.choose("1.1 first: skipped: the console was busy");
    let h = t.prompt("Step 1.1: what now?");
    assert!(h.contains("   Reopened first: it is to do again.\n"), "{h}");
    t.choose("Done");
    let h = t.prompt("Step 1.2: what now?");
    assert!(h.contains("   Back to where the walk was.\n"), "{h}");
    t.choose("Done");
    // Nothing is left to reopen: the run finishes without asking.
    assert_eq!(t.exit_code(), 0);
    let (_, events, progress) = the_run(&t.state_dir());
    assert_finished(&progress);
    let reopened = events
        .iter()
        .find(|e| e.kind.name() == "instance_reopened")
        .unwrap();
    assert_eq!(
        reopened.note.as_deref(),
        Some("reopened; it was skipped: the console was busy")
    );
    assert_eq!(
        progress.state("first"),
        &InstanceState::Done(Completion::Confirmed)
    );
    // The skip, the reopening and the done are all on the record, in order.
    let first: Vec<&str> = events
        .iter()
        .filter(|e| e.kind.key() == Some("first"))
        .map(|e| e.kind.name())
        .collect();
    assert_eq!(
        first,
        ["instance_skipped", "instance_reopened", "instance_done"]
    );
}
