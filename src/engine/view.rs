//! What the operator sees of a step instance: the plan's step with parameters filled in.

use crate::actions::{self, ActionView};
use crate::plan::{Instance, Plan};
use crate::runbook::{Action, Step};
use crate::ui::{KnownIssueView, StepView};

/// Lines that say exactly what an automated action will do, with parameters filled in (secrets
/// masked): the action's own description (the one `stepwise check` shows), laid out for a
/// terminal, with the content a `write_file` will write.
pub fn describe_action(plan: &Plan, action: &Action) -> Vec<String> {
    let mut out = Vec::new();
    match actions::describe(plan, action) {
        ActionView::Manual => {}
        ActionView::Command {
            command_line,
            cwd,
            timeout_secs,
            success_codes,
            shell,
            ..
        } => {
            let through = if shell { " through the shell" } else { "" };
            out.push(format!("run{through}: {command_line}"));
            if let Some(cwd) = cwd {
                out.push(format!("in folder: {cwd}"));
            }
            let codes: Vec<String> = success_codes.iter().map(i32::to_string).collect();
            out.push(format!(
                "timeout {timeout_secs} s; success exit codes: {}",
                codes.join(", ")
            ));
        }
        ActionView::Copy {
            from,
            to,
            files,
            backup,
            ..
        } => {
            out.push(format!("copy from {from} to {to}"));
            if backup {
                out.push("back up every file it replaces into the run folder".into());
            }
            out.extend(files.iter().map(|f| format!("  {f}")));
        }
        ActionView::WriteFile { path, backup, .. } => {
            out.push(format!("write {path}"));
            if backup {
                out.push("back up the file it replaces into the run folder".into());
            }
            if let Action::WriteFile(w) = action {
                let content = plan.resolved.show(&w.content);
                out.extend(content.lines().map(|l| format!("  | {l}")));
            }
        }
        ActionView::CreateFolder { path } => {
            out.push(format!(
                "create the empty folder {path}, unless it is already there"
            ));
        }
        ActionView::Check { checks, waits } => {
            out.extend(checks.iter().map(|c| format!("check: {c}")));
            if let Some(w) = waits {
                out.push(format!("wait until every check holds: {w}"));
            }
        }
        ActionView::Restart {
            command_line,
            wait_secs,
            checks,
        } => {
            out.push(format!("restart the host: {command_line}"));
            out.push(format!(
                "then wait (at most {wait_secs} s) until it answers over SSH again"
            ));
            out.extend(checks.iter().map(|c| format!("then check: {c}")));
        }
    }
    out
}

/// The known issues a step names, with their workaround steps' instance keys for `host` (a
/// workaround runs where the issue was seen).
pub fn known_issues(plan: &Plan, step: &Step, host: Option<&str>) -> Vec<KnownIssueView> {
    let r = &plan.resolved;
    step.known_issues
        .iter()
        .filter_map(|id| plan.runbook.known_issue(&id.value))
        .map(|k| KnownIssueView {
            id: k.id.clone(),
            title: k.title.clone(),
            symptom: k.symptom.clone(),
            cause: k.cause.clone(),
            workaround: k.workaround.as_ref().map(|w| r.show(w)),
            steps: k
                .steps
                .iter()
                .map(|s| (crate::plan::instance_key(&s.id, host), r.show(&s.title)))
                .collect(),
        })
        .collect()
}

/// Builds the view of a step instance (or of a workaround step, with no plan instance).
pub fn step_view(plan: &Plan, instance: &Instance) -> StepView {
    let planned = plan.step_of(instance);
    let phase = &plan.phases[instance.phase()];
    let scoped = plan.for_instance(instance);
    let mut view = view_of(&scoped, planned.step, instance.host(), &instance.key);
    view.ordinal = crate::fleet::position(plan, instance);
    view.total = plan.instances.len();
    view.number = planned.number.clone();
    view.phase_title = phase.phase.title.clone();
    set_target(&mut view, plan, instance);
    view
}

/// Says where the view's automation runs, for an instance on a host.
pub fn set_target(view: &mut StepView, plan: &Plan, instance: &Instance) {
    if instance.host().is_none() {
        return;
    }
    let reach = plan.reach(instance);
    view.reachable = !matches!(reach, crate::target::Reach::Unreachable { .. });
    view.target = Some(reach.describe());
}

pub fn view_of(plan: &Plan, step: &Step, host: Option<&str>, key: &str) -> StepView {
    let r = &plan.resolved;
    StepView {
        key: key.to_string(),
        ordinal: 0,
        total: 0,
        number: String::new(),
        phase_title: String::new(),
        title: r.show(&step.title),
        article_step: step.article_step.clone(),
        host: host.map(str::to_string),
        instructions: step.instructions.as_ref().map(|i| r.show(i)),
        // An item whose `when` is false here is not part of the instance; one still open
        // (only before a run's values are all given) says so.
        items: step
            .items
            .iter()
            .filter_map(|i| match crate::plan::item_applies(i, r)? {
                crate::plan::Applies::Yes => Some((i.id.clone(), r.show(&i.text))),
                crate::plan::Applies::OnlyIf(_) => {
                    let when = i
                        .when
                        .as_ref()
                        .map(|w| w.value.to_string())
                        .unwrap_or_default();
                    Some((
                        i.id.clone(),
                        format!("{} (only if {when})", r.show(&i.text)),
                    ))
                }
            })
            .collect(),
        notes: step.notes.iter().map(|n| r.show(n)).collect(),
        known_issues: known_issues(plan, step, host),
        automation: step
            .automated()
            .map(|a| describe_action(plan, a))
            .unwrap_or_default(),
        automated: !matches!(step.action, Action::Manual),
        target: None,
        reachable: true,
        references: step.references.iter().map(|x| x.render()).collect(),
        revisitable: Vec::new(),
    }
}

/// The step as shown before the operator decides: number, title, host, instructions, items,
/// notes, known issues, and what an automation would do.
pub fn render(view: &StepView, details: bool) -> String {
    let mut out = String::new();
    let host = view
        .host
        .as_ref()
        .map(|h| format!("  on {h}"))
        .unwrap_or_default();
    let article = view
        .article_step
        .as_ref()
        .map(|n| format!(" (article step {n})"))
        .unwrap_or_default();
    if view.total == 0 {
        // A known issue's workaround step: it has no place in the plan.
        out.push_str(&format!(
            "\n── Workaround step{article}  {}{}\n   key: {}\n",
            view.title, host, view.key
        ));
    } else {
        out.push_str(&format!(
            "\n── [{}/{}] Step {}{article}  {}{}\n",
            view.ordinal, view.total, view.number, view.title, host
        ));
        out.push_str(&format!(
            "   key: {}   phase: {}\n",
            view.key, view.phase_title
        ));
    }
    if let Some(i) = &view.instructions {
        out.push('\n');
        for line in i.trim_end().lines() {
            out.push_str(&format!("   {line}\n"));
        }
    }
    if !view.items.is_empty() {
        out.push_str("\n   Items:\n");
        for (_, text) in &view.items {
            out.push_str(&format!("   - {text}\n"));
        }
    }
    for n in &view.notes {
        out.push_str(&format!("\n   Note: {}\n", n.trim_end()));
    }
    if !view.automation.is_empty() {
        out.push_str(if view.automated {
            "\n   This step is automated; it will:\n"
        } else {
            "\n   This step can be automated; the automation will:\n"
        });
        for line in &view.automation {
            out.push_str(&format!("     {line}\n"));
        }
        if let Some(target) = &view.target {
            out.push_str(&format!("     on {target}\n"));
        }
        if !view.reachable
            && let Some(host) = &view.host
        {
            out.push_str(&format!(
                "   {}.\n",
                capitalize(&crate::target::Reach::unreachable_sentence(host))
            ));
        }
    }
    for k in &view.known_issues {
        out.push_str(&format!("\n   Known issue: {}\n", k.title));
        if details {
            out.push_str(&format!("     Symptom: {}\n", k.symptom.trim_end()));
            if let Some(c) = &k.cause {
                out.push_str(&format!("     Cause: {}\n", c.trim_end()));
            }
            if let Some(w) = &k.workaround {
                out.push_str(&format!("     Workaround: {}\n", w.trim_end()));
            }
        }
    }
    if details && !view.references.is_empty() {
        out.push_str("\n   References:\n");
        for r in &view.references {
            out.push_str(&format!("   - {r}\n"));
        }
    }
    out
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
