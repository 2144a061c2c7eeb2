//! The menu offered at a real terminal when a step's host cannot be reached to look at what its
//! interrupted action left: chosen from with the arrow keys, and the choice journaled.

use std::fs;
use std::time::{Duration, Instant};

use super::{terminal, the_run};
use crate::fleet::{Fleet, HOST_ROOT};
use stepwise::journal::{Completion, EventKind, InstanceState, Resolution};

#[test]
fn a_step_whose_host_cannot_be_reached_is_settled_from_its_menu_and_the_choice_journaled() {
    let Some(mut t) = terminal("unreachable") else {
        return;
    };
    let mut fleet = Fleet::start(&["WEB01"]);
    let tree = fleet.host("WEB01").tree.clone();
    fs::write(
        t.path("book.yaml"),
        format!(
            "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [WEB01] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - {{ id: slow, title: Slow, on: web, action: {{ type: command, program: sh, args: [-c, 'echo run >> {HOST_ROOT}/runs; sleep 30'] }} }}\n"
        ),
    )
    .unwrap();
    fs::write(
        t.path("inventory.yaml"),
        fleet.inventory("roles:\n  web: [WEB01]\n"),
    )
    .unwrap();
    let state = t.state_dir().display().to_string();
    t.run(&[
        "run",
        "book.yaml",
        "--inventory",
        "inventory.yaml",
        "--state-dir",
        &state,
    ]);
    t.prompt("Run step 1.1 on WEB01 now?");
    t.answer(&["y"]);
    // The command runs on WEB01; WEB01 goes away under it.
    let start = Instant::now();
    while !tree.join("runs").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the command never ran on WEB01:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    crate::ssh_failures::kill_host(&mut fleet, "WEB01");
    let asked = "Step slow@WEB01 (Slow) was started and never finished. Did it complete?";
    let h = t.prompt(asked);
    assert!(
        h.contains("WEB01 cannot be reached now: cannot connect to WEB01"),
        "{h}"
    );
    for entry in [
        "Try to reach the host again, then look again",
        "Pause: save and exit",
        "It completed: mark it done by hand (a note is required)",
        "Skip it (a reason is required)",
    ] {
        assert!(h.contains(entry), "the menu has `{entry}`:\n{h}");
    }
    assert!(
        !h.contains("show the step again"),
        "running it again is not offered while WEB01 cannot be reached:\n{h}"
    );

    // Trying again while WEB01 is still down: looked at again, and asked again.
    t.choose("Try to reach the host again");
    let h = t.prompt(asked);
    assert_eq!(
        h.matches("WEB01 cannot be reached now").count(),
        2,
        "looked at again:\n{h}"
    );

    // The operator knows it completed: done by hand, with how they know.
    t.choose("It completed: mark it done by hand");
    t.prompt("How do you know?");
    t.type_answer("WEB01's console shows the job finished before the power cut");
    if t.next_prompt()
        .is_some_and(|p| p.contains("Finish the run?"))
    {
        t.answer(&["Enter"]);
    }
    assert_eq!(t.exit_code(), 0, "{}", t.history());

    let (_, events, progress) = the_run(&t.state_dir());
    assert_eq!(
        progress.state("slow@WEB01"),
        &InstanceState::Done(Completion::ByHand)
    );
    let resolved: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::InDoubtResolved {
                key,
                resolution,
                how,
            } => Some((
                key.as_str(),
                *resolution,
                *how,
                e.note.as_deref(),
                e.operator.as_str(),
                e.host.as_deref(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        resolved,
        [(
            "slow@WEB01",
            Resolution::Done,
            Some(Completion::ByHand),
            Some("WEB01's console shows the job finished before the power cut"),
            super::OPERATOR,
            Some("WEB01"),
        )]
    );
    assert_eq!(
        fs::read_to_string(tree.join("runs")).unwrap(),
        "run\n",
        "not run again"
    );
}
