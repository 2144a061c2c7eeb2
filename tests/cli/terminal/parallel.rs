//! A `parallel` step at the terminal: asked once for all its hosts, one line per running host,
//! and the failure menu of a failed host once the others have finished.

use std::fs;

use super::{assert_no_leftover_bar, terminal, the_run};
use stepwise::journal::{Completion, InstanceState};

#[test]
fn a_parallel_step_is_asked_once_and_a_failed_host_gets_its_menu_after_the_others() {
    let Some(mut t) = terminal("parallel") else {
        return;
    };
    let marks = t.path("marks");
    fs::create_dir(&marks).unwrap();
    let book = t.path("book.yaml");
    fs::write(
        &book,
        format!(
            "id: fleet\ntitle: Fleet\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [L1, L2, L3, L4] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - id: work\n        title: Work\n        on: web\n        parallel: 2\n        action: {{ type: command, program: sh, args: [-c, 'test \"$0\" != L3 || exit 7; sleep 1; echo \"done on $0\" > {}/$0', '{{{{ host }}}}'] }}\n",
            marks.display()
        ),
    )
    .unwrap();
    let inventory = t.path("inventory.yaml");
    fs::write(
        &inventory,
        "roles:\n  web: [L1, L2, L3, L4]\nhosts:\n  L1: { target: local }\n  L2: { target: local }\n  L3: { target: local }\n  L4: { target: local }\n",
    )
    .unwrap();
    let state = t.state_dir().display().to_string();
    t.run(&[
        "run",
        &book.display().to_string(),
        "--inventory",
        &inventory.display().to_string(),
        "--state-dir",
        &state,
    ]);
    t.prompt("Run step 1.1 on L1..L4 (4 hosts), 2 at a time?");
    t.answer(&["y"]);
    let h = t.prompt("work@L3 failed. What now?");
    for host in ["L1", "L2", "L4"] {
        assert!(
            h.contains(&format!("   ✓ {host}: ")),
            "{host} finished first:\n{h}"
        );
    }
    assert!(h.contains("   ✗ L3 failed: "), "{h}");
    t.choose("Skip this host");
    t.prompt("Why skip this host?");
    t.type_answer("L3 is patched next week");
    t.prompt("Finish the run?");
    t.answer(&["Enter"]);
    assert_eq!(t.exit_code(), 0);
    assert_no_leftover_bar(&t.history());

    let (_, _, progress) = the_run(&t.state_dir());
    for host in ["L1", "L2", "L4"] {
        assert_eq!(
            progress.state(&format!("work@{host}")),
            &InstanceState::Done(Completion::Automated)
        );
        assert_eq!(
            fs::read_to_string(marks.join(host)).unwrap(),
            format!("done on {host}\n")
        );
    }
    assert!(matches!(
        progress.state("work@L3"),
        InstanceState::Skipped { .. }
    ));
}
