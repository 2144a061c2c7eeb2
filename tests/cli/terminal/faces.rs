//! The walk on terminals without colour (`NO_COLOR=1`), on a terminal that cannot move its
//! cursor (`TERM=dumb`), and the operator's name asked when nothing gives it.

use super::*;

const ITEMS_RUNBOOK: &str = "id: ticks
title: Tick list procedure
article: KB0
product: stepwise tests
phases:
  - id: uninstall
    title: Uninstall
    steps:
      - id: uninstall-components
        title: Uninstall the components
        instructions: >-
          In Add or Remove Programs on the first MPS engine server, uninstall each of these
          components in the order shown, one at a time, and wait for each uninstallation to
          finish before you start the next one, because an uninstallation that overlaps another
          one leaves the namespace registered.
        items: [Resource Manager, Hosted Email, Managed Email]
      - { id: check-event-log, title: Check the event log }
";

/// The words of the instructions above, as they read once the folding is undone.
const INSTRUCTIONS: &str = "In Add or Remove Programs on the first MPS engine server, uninstall \
     each of these components in the order shown, one at a time, and wait for each \
     uninstallation to finish before you start the next one, because an uninstallation that \
     overlaps another one leaves the namespace registered.";

/// Types `env ENV… stepwise ARGS…; echo EXIT=$?` at the shell prompt. `env` entries are
/// `NAME=VALUE` to set or `-u NAME` to unset.
fn run_with(t: &mut Terminal, env: &[&str], args: &[&str]) {
    let mut line = String::from("env");
    for e in env {
        line.push(' ');
        line.push_str(e);
    }
    line.push(' ');
    line.push_str(&sh_quote(env!("CARGO_BIN_EXE_stepwise")));
    for a in args {
        line.push(' ');
        line.push_str(&sh_quote(a));
    }
    line.push_str("; echo EXIT=$?");
    t.type_command(&line);
}

/// The lines of the latest command's output, trailing blanks cut.
fn output_lines(h: &str) -> Vec<String> {
    since_command(h)
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// The last line of the latest command's output that is not blank.
fn last_line(h: &str) -> String {
    output_lines(h)
        .into_iter()
        .rev()
        .find(|l| !l.is_empty())
        .unwrap_or_default()
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn items_done(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ItemDone { item, .. } => Some(item.clone()),
            _ => None,
        })
        .collect()
}

/// Answers every "Why is … not done?" that comes, until the command waits at something else
/// (`until` shows after the last reason); returns the questions asked, in order.
fn give_reasons(t: &mut Terminal, until: &str) -> Vec<String> {
    let is_reason = |l: &str| l.starts_with("Why is \"") && l.ends_with("not done?:");
    let mut asked: Vec<String> = Vec::new();
    loop {
        let pending = |h: &str| -> Option<String> {
            let last = last_line(h);
            (is_reason(&last) && !asked.contains(&last)).then_some(last)
        };
        let moved_on = |h: &str| {
            let lines = output_lines(h);
            let Some(at) = lines.iter().rposition(|l| l.starts_with("Why is \"")) else {
                return false;
            };
            !asked.is_empty() && lines[at + 1..].iter().any(|l| l.contains(until))
        };
        let h = t.wait_until("a reason prompt or the next question", |h| {
            pending(h).is_some() || moved_on(h) || exit_lines(h).len() > t.exits
        });
        match pending(&h) {
            Some(question) => {
                asked.push(question);
                t.type_text("the package for it is not in the share yet");
                t.send(&["Enter"]);
            }
            None => return asked,
        }
    }
}

#[test]
fn without_colour_space_ticks_the_line_the_textual_cursor_is_on() {
    let Some(mut t) = terminal("nocolor") else {
        return;
    };
    fs::write(t.path("ticks.yaml"), ITEMS_RUNBOOK).unwrap();
    let state = t.state_dir().display().to_string();
    let runbook = t.path("ticks.yaml").display().to_string();
    run_with(
        &mut t,
        &["NO_COLOR=1"],
        &["run", &runbook, "--state-dir", &state],
    );

    // The step's instructions, folded to the 120 columns at word boundaries.
    let h = t.wait_until("the step menu with a textual cursor", |h| {
        output_lines(h).iter().any(|l| l == "> Done")
    });
    assert!(words(since_command(&h)).contains(INSTRUCTIONS), "{h}");
    let lines = output_lines(&h);
    let first = lines
        .iter()
        .position(|l| l.starts_with("   In Add or Remove Programs"))
        .unwrap();
    assert!(lines[first + 1].starts_with("   "), "{h}");
    for l in &lines[first..first + 3] {
        assert!(l.chars().count() <= 120, "{l:?}");
    }
    t.send(&["Enter"]);

    // The tick list: the cursor is a `>` on the first item, and nothing is ticked.
    let h = t.wait_until("the tick list", |h| {
        output_lines(h)
            .iter()
            .any(|l| l == "> [ ] Resource Manager")
    });
    let list: Vec<String> = output_lines(&h)
        .into_iter()
        .filter(|l| l.contains("[ ]") || l.contains("[x]"))
        .collect();
    assert_eq!(
        list,
        [
            "> [ ] Resource Manager",
            "  [ ] Hosted Email",
            "  [ ] Managed Email"
        ],
        "{h}"
    );
    // Down, then Space: the tick lands on the line the `>` is on, and the screen says so.
    t.send(&["Down"]);
    t.wait_until("the cursor on the second item", |h| {
        output_lines(h).iter().any(|l| l == "> [ ] Hosted Email")
    });
    t.send(&["Space"]);
    let h = t.wait_until("the second item ticked", |h| {
        output_lines(h).iter().any(|l| l == "> [x] Hosted Email")
    });
    let lines = output_lines(&h);
    assert!(lines.contains(&"  [ ] Resource Manager".to_string()), "{h}");
    assert!(lines.contains(&"  [ ] Managed Email".to_string()), "{h}");
    t.send(&["Enter"]);

    let asked = give_reasons(&mut t, "what now?");
    assert_eq!(
        asked,
        [
            "Why is \"Resource Manager\" not done?:",
            "Why is \"Managed Email\" not done?:"
        ]
    );
    t.send(&["C-c"]);
    assert_eq!(t.exit_code(), 130);
    let (_, events, _) = the_run(&t.state_dir());
    assert_eq!(items_done(&events), ["hosted-email"]);
}

#[test]
fn a_dumb_terminal_gets_questions_line_by_line_and_no_escape_sequence() {
    let Some(mut t) = terminal("dumb") else {
        return;
    };
    fs::write(t.path("ticks.yaml"), ITEMS_RUNBOOK).unwrap();
    // Everything the pane receives from here on, byte for byte.
    let raw = t.path("raw.txt");
    t.tmux(&[
        "pipe-pane",
        "-t",
        "op",
        "-o",
        &format!("cat >> {}", sh_quote(&raw.display().to_string())),
    ]);
    let state = t.state_dir().display().to_string();
    let runbook = t.path("ticks.yaml").display().to_string();
    run_with(
        &mut t,
        &["TERM=dumb"],
        &["run", &runbook, "--state-dir", &state],
    );

    // A numbered menu, the default marked `>`, answered with a number.
    let h = t.wait_until("a numbered menu", |h| {
        last_line(h).starts_with("Number (Enter for 1):")
    });
    let lines = output_lines(&h);
    assert!(lines.contains(&"Step 1.1: what now?".to_string()), "{h}");
    assert!(lines.contains(&">  1. Done".to_string()), "{h}");
    assert!(lines.iter().any(|l| l.starts_with("   2. Skip")), "{h}");
    assert!(words(since_command(&h)).contains(INSTRUCTIONS), "{h}");
    assert!(
        lines.contains(&"progress: 0/2 step instances  uninstall-components".to_string()),
        "progress is a plain line: {h}"
    );
    t.type_text("1");
    t.send(&["Enter"]);

    // The tick list, answered with the numbers of the items done.
    let h = t.wait_until("the tick list", |h| {
        last_line(h).starts_with("Numbers of the items done")
    });
    let lines = output_lines(&h);
    for item in [
        "  [ ]  1. Resource Manager",
        "  [ ]  2. Hosted Email",
        "  [ ]  3. Managed Email",
    ] {
        assert!(lines.contains(&item.to_string()), "{item:?}: {h}");
    }
    t.type_text("2");
    t.send(&["Enter"]);
    let asked = give_reasons(&mut t, "Number (Enter for");
    assert_eq!(asked.len(), 2, "{asked:?}");
    // Ctrl-C at a line prompt is the ordinary signal: saved, exit 130.
    t.send(&["C-c"]);
    assert_eq!(t.exit_code(), 130);
    let (_, events, _) = the_run(&t.state_dir());
    assert_eq!(items_done(&events), ["hosted-email"]);

    let bytes = fs::read(&raw).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let from = text
        .find("TERM=dumb")
        .expect("the command line was captured");
    let escapes: Vec<String> = text[from..]
        .match_indices('\u{1b}')
        .map(|(i, _)| format!("{:?}", &text[from + i..(from + i + 8).min(text.len())]))
        .collect();
    assert!(
        escapes.is_empty(),
        "escape sequences on a dumb terminal: {escapes:?}\n{text}"
    );
}

#[test]
fn the_operator_is_asked_once_when_nothing_names_them() {
    let Some(mut t) = terminal("operator") else {
        return;
    };
    fs::write(t.path("ticks.yaml"), ITEMS_RUNBOOK).unwrap();
    let state = t.state_dir().display().to_string();
    let runbook = t.path("ticks.yaml").display().to_string();
    run_with(
        &mut t,
        &["-u", "USER", "-u", "USERNAME", "-u", "STEPWISE_OPERATOR"],
        &["run", &runbook, "--state-dir", &state],
    );
    t.prompt("Your name, for the record (the operator)");
    t.type_answer("Grace Hopper");
    t.prompt("Step 1.1: what now?");
    t.choose("Pause: save and exit");
    assert_eq!(t.exit_code(), 3);
    let h = t.history();
    let asked = h
        .lines()
        .filter(|l| l.starts_with("✔ Your name, for the record"))
        .count();
    assert_eq!(asked, 1, "{h}");
    let (_, events, _) = the_run(&t.state_dir());
    assert!(events.iter().all(|e| e.operator == "Grace Hopper"));
}

#[test]
fn on_a_dumb_terminal_the_operator_is_asked_on_a_line_and_ctrl_c_there_starts_nothing() {
    let Some(mut t) = terminal("dumb-operator") else {
        return;
    };
    fs::write(t.path("ticks.yaml"), ITEMS_RUNBOOK).unwrap();
    let state = t.state_dir().display().to_string();
    let runbook = t.path("ticks.yaml").display().to_string();
    run_with(
        &mut t,
        &[
            "-u",
            "USER",
            "-u",
            "USERNAME",
            "-u",
            "STEPWISE_OPERATOR",
            "TERM=dumb",
        ],
        &["run", &runbook, "--state-dir", &state],
    );
    t.wait_until("the operator's name asked on a line", |h| {
        last_line(h) == "Your name, for the record (the operator):"
    });
    t.send(&["C-c"]);
    assert_eq!(t.exit_code(), 130);
    let h = t.history();
    assert!(
        output_lines(&h)
            .contains(&"Interrupted before the run started; nothing was started.".to_string()),
        "{h}"
    );
    assert!(
        !t.state_dir().exists() || fs::read_dir(t.state_dir()).unwrap().next().is_none(),
        "no run was created"
    );

    // Answered, the name is what the journal records.
    run_with(
        &mut t,
        &[
            "-u",
            "USER",
            "-u",
            "USERNAME",
            "-u",
            "STEPWISE_OPERATOR",
            "TERM=dumb",
        ],
        &["run", &runbook, "--state-dir", &state],
    );
    t.wait_until("the operator's name asked again", |h| {
        last_line(h) == "Your name, for the record (the operator):"
    });
    t.type_text("Grace Hopper");
    t.send(&["Enter"]);
    let h = t.wait_until("the first menu", |h| {
        last_line(h).starts_with("Number (Enter for 1):")
    });
    let pause = output_lines(&h)
        .into_iter()
        .rev()
        .find(|l| l.contains(". Pause"))
        .and_then(|l| l[1..].trim_start().split('.').next().map(str::to_string))
        .unwrap();
    t.type_text(&pause);
    t.send(&["Enter"]);
    assert_eq!(t.exit_code(), 3);
    let (_, events, _) = the_run(&t.state_dir());
    assert!(events.iter().all(|e| e.operator == "Grace Hopper"));
}
