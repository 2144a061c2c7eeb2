//! Asking a person at a terminal: dialoguer prompts and an indicatif progress bar.
//!
//! Three faces, chosen once from the terminal ([`Face`]): menus in colour; menus without colour
//! (`NO_COLOR`, `CLICOLOR=0`), where a textual `>` marks the menu's cursor and `[x]` a ticked
//! item, since a highlight alone would be invisible; and, on a terminal that cannot move its
//! cursor (`TERM=dumb`), line-by-line questions ([`super::lines`]) and progress as plain lines,
//! with no escape sequence at all. Everything shown is folded to the terminal's width at word
//! boundaries ([`super::wrap`]).
//!
//! The progress bar is suspended while a prompt is drawn, so it never garbles one. Ctrl-C at a
//! prompt (raw mode, where the terminal sends no signal) comes back as [`Stop::Interrupted`].
//! The terminal library also raises SIGINT when it reads that key, so [`prompt_state`] tells the
//! Ctrl-C handler that the prompt has it: the walk then saves and stops on its own, once.

use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use console::{Term, measure_text_width, style, truncate_str};
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, MultiSelect, Password, Select};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{
    Decision, Declined, Evidence, FailureChoice, FailureView, InDoubtChoice, ItemAnswer, Prompter,
    StepView, Stop, Supports, lines,
};
use crate::runbook::{ParamType, Parameter, Role, Value};

/// Where the prompts stand, for the Ctrl-C handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptState {
    /// No prompt is drawn.
    Idle,
    /// A prompt waits for a key; a Ctrl-C typed there comes back from it.
    Waiting,
    /// A prompt returned Ctrl-C: the caller saves and stops.
    Interrupted,
}

static PROMPT_STATE: AtomicU8 = AtomicU8::new(0);

pub fn prompt_state() -> PromptState {
    match PROMPT_STATE.load(Ordering::SeqCst) {
        1 => PromptState::Waiting,
        2 => PromptState::Interrupted,
        _ => PromptState::Idle,
    }
}

fn set_prompt_state(state: PromptState) {
    let v = match state {
        PromptState::Idle => 0,
        PromptState::Waiting => 1,
        PromptState::Interrupted => 2,
    };
    PROMPT_STATE.store(v, Ordering::SeqCst);
}

/// "2.1 on WEB01": which step instance a prompt is about, so that the answered prompt reads on
/// its own in the scrollback. `None` for a workaround step, which has no number.
fn step_label(view: &StepView) -> Option<String> {
    if view.number.is_empty() {
        return None;
    }
    Some(match &view.host {
        Some(host) => format!("{} on {host}", view.number),
        None => view.number.clone(),
    })
}

/// Columns a yes/no prompt needs after its text: " (y/n)" and the answer.
const CONFIRM_ROOM: usize = 10;

/// How the terminal is asked and shown things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// dialoguer menus in colour, indicatif bars.
    Colour,
    /// dialoguer menus without colour: the cursor and ticks are marked with text.
    Plain,
    /// No cursor movement: questions answered line by line, progress as plain lines.
    Lines,
}

impl Face {
    /// The face for this process's terminal: `TERM=dumb` (or, on Unix, no `TERM`) asks line by
    /// line; colour turned off (`NO_COLOR`, `CLICOLOR=0`, or by the program) draws plain menus.
    pub fn detect() -> Face {
        if console::is_dumb() {
            Face::Lines
        } else if !console::colors_enabled_stderr() {
            Face::Plain
        } else {
            Face::Colour
        }
    }
}

pub struct TerminalPrompter {
    theme: Box<dyn Theme>,
    face: Face,
    /// The progress last printed as a line (the `Lines` face).
    shown_progress: Option<(usize, usize)>,
    /// The overall bar and an action's bar, drawn together (hidden until the walk starts).
    bars: MultiProgress,
    bar: ProgressBar,
    drawing: bool,
    term: Term,
}

impl Default for TerminalPrompter {
    fn default() -> Self {
        Self::new()
    }
}

fn stop(e: dialoguer::Error) -> Stop {
    let dialoguer::Error::IO(e) = e;
    if e.kind() == io::ErrorKind::Interrupted {
        Stop::Interrupted
    } else {
        Stop::Io(crate::error::describe_io(&e))
    }
}

impl TerminalPrompter {
    pub fn new() -> TerminalPrompter {
        let face = Face::detect();
        let theme: Box<dyn Theme> = match face {
            Face::Colour => Box::new(ColorfulTheme::default()),
            Face::Plain | Face::Lines => Box::new(SimpleTheme),
        };
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
        let bar = bars.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} step instances  {elapsed_precise}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix("progress");
        TerminalPrompter {
            theme,
            face,
            shown_progress: None,
            bars,
            bar,
            drawing: false,
            term: Term::stderr(),
        }
    }

    fn start_drawing(&mut self) {
        if !self.drawing && self.face != Face::Lines {
            self.drawing = true;
            self.bars.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(500));
        }
    }

    /// Whether standard input and error are a terminal a person can answer at. Standard output
    /// does not matter: prompts and the bar are drawn on standard error, so `run ... | tee log`
    /// still asks at the terminal.
    pub fn available() -> bool {
        use std::io::IsTerminal;
        io::stdin().is_terminal() && Term::stderr().is_term() && console::user_attended_stderr()
    }

    /// Asks with a menu (dialoguer ends it with a newline).
    fn ask<T>(&self, f: impl FnOnce() -> dialoguer::Result<T>) -> Result<T, Stop> {
        self.prompt(false, f)
    }

    /// Asks on one line (yes/no, text). Interrupted, such a prompt leaves the cursor after it:
    /// the bar, redrawn when the prompt returns, would share its line and then be cleared as one
    /// line, leaving half of it on the screen.
    fn ask_line<T>(&self, f: impl FnOnce() -> dialoguer::Result<T>) -> Result<T, Stop> {
        self.prompt(true, f)
    }

    fn prompt<T>(&self, line: bool, f: impl FnOnce() -> dialoguer::Result<T>) -> Result<T, Stop> {
        set_prompt_state(PromptState::Waiting);
        let answer = self
            .bar
            .suspend(|| {
                let answer = f();
                let dialoguer::Error::IO(e) = match &answer {
                    Err(e) => e,
                    Ok(_) => return answer,
                };
                if line && e.kind() == io::ErrorKind::Interrupted {
                    let _ = self.term.write_line("");
                }
                answer
            })
            .map_err(stop);
        set_prompt_state(match answer {
            Err(Stop::Interrupted) => PromptState::Interrupted,
            _ => PromptState::Idle,
        });
        answer
    }

    /// Prints lines above the prompts, folded to the terminal's width.
    fn line(&self, text: &str) {
        let text = super::wrap::wrap(text, self.width());
        self.bar.suspend(|| crate::errln!("{text}"));
    }

    fn width(&self) -> usize {
        usize::from(self.term.size().1)
    }

    /// Whether a prompt line fits the terminal with `room` columns to spare for a default or an
    /// answer: "? " before the prompt, " › " after it, and a column for the cursor.
    fn fits(&self, prompt: &str, room: usize) -> bool {
        measure_text_width(prompt) + room + 6 <= self.width()
    }

    /// The prompt for a question, fitted to the terminal's width with `room` columns to spare.
    ///
    /// dialoguer clears and redraws a prompt as if its line fitted the terminal: a longer one
    /// leaves its first rows behind, once per redraw (each arrow key in a menu). A question that
    /// does not fit is printed first up to its last sentence that does, which becomes the
    /// prompt; failing that, the whole question is printed and the prompt is "Answer".
    fn fit(&self, prompt: &str, room: usize) -> String {
        if self.fits(prompt, room) {
            return prompt.to_string();
        }
        let split = prompt
            .match_indices(". ")
            .map(|(i, _)| i + 1)
            .find(|&i| self.fits(prompt[i..].trim_start(), room));
        match split {
            Some(i) => {
                self.line(&prompt[..i]);
                prompt[i..].trim_start().to_string()
            }
            None => {
                self.line(prompt);
                "Answer".to_string()
            }
        }
    }

    /// Menu entries cut to the terminal's width, for the same reason as [`Self::fit`].
    fn fit_items(&self, items: &[String]) -> Vec<String> {
        let width = self.width().saturating_sub(4).max(20);
        items
            .iter()
            .map(|i| truncate_str(i, width, "…").into_owned())
            .collect()
    }

    fn text(&self, prompt: &str, default: Option<String>, required: bool) -> Result<String, Stop> {
        if self.face == Face::Lines {
            return lines::text(prompt, default.as_deref(), required, self.width());
        }
        let room = default.as_ref().map_or(0, |d| measure_text_width(d) + 3);
        let (prompt, show_default) = if self.fits(prompt, room) {
            (prompt.to_string(), true)
        } else {
            // The default goes on a line of its own.
            let prompt = self.fit(prompt, 0);
            if let Some(d) = &default {
                self.line(&format!("  Default (Enter keeps it): {d}"));
            }
            (prompt, false)
        };
        self.ask_line(|| {
            let mut input = Input::<String>::with_theme(self.theme.as_ref())
                .with_prompt(prompt)
                .show_default(show_default);
            if let Some(d) = default {
                input = input.default(d);
            }
            input = input.allow_empty(!required);
            if required {
                input = input.validate_with(|s: &String| -> Result<(), &str> {
                    if s.trim().is_empty() {
                        Err("an answer is required")
                    } else {
                        Ok(())
                    }
                });
            }
            input.interact_text_on(&self.term)
        })
    }

    fn select(&self, prompt: &str, items: &[String], default: usize) -> Result<usize, Stop> {
        if self.face == Face::Lines {
            return lines::select(prompt, items, default, self.width());
        }
        let prompt = self.fit(prompt, 0);
        let items = self.fit_items(items);
        self.ask(|| {
            Select::with_theme(self.theme.as_ref())
                .with_prompt(prompt)
                .items(&items)
                .default(default)
                .interact_on(&self.term)
        })
    }

    /// A yes/no question on one line; without a default, the operator must answer.
    fn confirm(&self, prompt: &str, default: Option<bool>) -> Result<bool, Stop> {
        if self.face == Face::Lines {
            return lines::confirm(prompt, default, self.width());
        }
        let prompt = self.fit(prompt, CONFIRM_ROOM);
        self.ask_line(|| {
            let c = Confirm::with_theme(self.theme.as_ref()).with_prompt(prompt);
            let c = match default {
                Some(d) => c.default(d),
                None => c,
            };
            c.interact_on(&self.term)
        })
    }

    /// A secret, never echoed.
    fn secret(&self, prompt: &str) -> Result<String, Stop> {
        if self.face == Face::Lines {
            return lines::secret(prompt, self.width());
        }
        let prompt = self.fit(prompt, 0);
        let _quiet = lines::EchoOff::new();
        self.ask_line(|| {
            Password::with_theme(self.theme.as_ref())
                .with_prompt(prompt)
                .interact_on(&self.term)
        })
    }

    /// The entries ticked of a list, none ticked to start with.
    fn ticks(&self, prompt: &str, labels: &[String]) -> Result<Vec<usize>, Stop> {
        if self.face == Face::Lines {
            return lines::ticks(prompt, labels, self.width());
        }
        let defaults = vec![false; labels.len()];
        let shown = self.fit_items(labels);
        let prompt = self.fit(prompt, 0);
        self.ask(|| {
            MultiSelect::with_theme(self.theme.as_ref())
                .with_prompt(prompt)
                .items(&shown)
                .defaults(&defaults)
                .interact_on(&self.term)
        })
    }
}

impl TerminalPrompter {
    /// Asks for a reason. An empty one is refused with a message saying a reason is required,
    /// and the operator may then go back instead (`None`): a skip can be cancelled.
    fn reason(&self, prompt: &str) -> Result<Option<String>, Stop> {
        loop {
            let text = self.text(prompt, None, false)?;
            if !text.trim().is_empty() {
                return Ok(Some(text.trim().to_string()));
            }
            self.line(&format!("  {}", style("A reason is required.").red()));
            let again = [
                "Give a reason".to_string(),
                "Go back: do not skip".to_string(),
            ];
            if self.select("No reason given. What now?", &again, 0)? == 1 {
                return Ok(None);
            }
        }
    }

    /// The in-doubt menu where the evidence cannot settle an instance yet (its host cannot be
    /// reached, or its command still runs): `wait` (look again, the default), pause, `done` (by
    /// the operator's word, with a note) or skip.
    fn wait_or_settle(&self, prompt: &str, wait: &str, done: &str) -> Result<InDoubtChoice, Stop> {
        let items = [
            wait.to_string(),
            "Pause: save and exit".to_string(),
            done.to_string(),
            "Skip it (a reason is required)".to_string(),
        ];
        Ok(match self.select(prompt, &items, 0)? {
            0 => InDoubtChoice::Wait,
            1 => InDoubtChoice::Pause,
            2 => InDoubtChoice::Done(Some(self.text("How do you know? (note)", None, true)?)),
            _ => match self.reason("Why skip it?")? {
                Some(r) => InDoubtChoice::Skip(r),
                None => InDoubtChoice::Wait,
            },
        })
    }

    /// Which settled instance to reopen, or `None` to go back.
    fn pick_revisit(&self, candidates: &[(String, String)]) -> Result<Option<String>, Stop> {
        let mut labels: Vec<String> = candidates.iter().map(|(_, l)| l.clone()).collect();
        labels.push("Go back".to_string());
        let i = self.select("Reopen which step instance?", &labels, labels.len() - 1)?;
        Ok(candidates.get(i).map(|(k, _)| k.clone()))
    }
}

impl Prompter for TerminalPrompter {
    fn interactive(&self) -> bool {
        true
    }

    fn operator_name(&mut self) -> Result<String, Stop> {
        self.text("Your name, for the record (the operator)", None, true)
    }

    fn param(&mut self, p: &Parameter) -> Result<Value, Stop> {
        if let Some(help) = &p.help {
            self.show(&format!("  {}", style(help).dim()));
        }
        match p.kind {
            ParamType::Bool => {
                let default = p.default.as_ref().map(|d| matches!(d, Value::Bool(true)));
                self.confirm(&p.prompt, default).map(Value::Bool)
            }
            ParamType::Choice => {
                let default = match &p.default {
                    Some(Value::Text(t)) => p.choices.iter().position(|c| c == t).unwrap_or(0),
                    _ => 0,
                };
                let i = self.select(&p.prompt, &p.choices, default)?;
                Ok(Value::Text(p.choices[i].clone()))
            }
            ParamType::Secret => self.secret(&p.prompt).map(Value::Text),
            ParamType::String | ParamType::Path | ParamType::Hosts => loop {
                let default = p.default.as_ref().map(Value::render);
                let text = self.text(&p.prompt, default, true)?;
                match p.parse_value(&text) {
                    Ok(v) => return Ok(v),
                    Err(m) => self.show(&format!("  {}", style(m).red())),
                }
            },
        }
    }

    fn hosts(&mut self, role: &Role, default: &[String]) -> Result<Vec<String>, Stop> {
        let prompt = format!(
            "Hosts for {} ({}), separated by commas",
            role.title, role.id
        );
        loop {
            let default = (!default.is_empty()).then(|| default.join(", "));
            let text = self.text(&prompt, default, true)?;
            let hosts: Vec<String> = text
                .split(',')
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .collect();
            match crate::runbook::host_list_problem(&hosts) {
                Some((_, problem)) => self.show(&format!("  {}", style(problem).red())),
                None if !hosts.is_empty() => return Ok(hosts),
                None => {}
            }
        }
    }

    fn confirm_prerequisites(&mut self, prerequisites: &[String]) -> Result<bool, Stop> {
        let prompt = format!("Are all {} prerequisites met?", prerequisites.len());
        self.confirm(&prompt, Some(false))
    }

    fn override_blocking(&mut self, blocking: usize) -> Result<Option<String>, Stop> {
        let go = self.confirm(
            &format!("{blocking} blocking finding(s). Go on anyway (you will be asked why)?"),
            Some(false),
        )?;
        if !go {
            return Ok(None);
        }
        self.text("Why is it safe to go on?", None, true).map(Some)
    }

    fn next_batch(&mut self, ask: &super::BatchAsk) -> Result<super::FleetChoice, Stop> {
        let items = [
            format!("Go on to {}", crate::fleet::and_list(&ask.next_hosts)),
            "Pause: save and exit (resume asks again)".to_string(),
            "Stop the run here".to_string(),
        ];
        Ok(match self.select(&ask.question(), &items, 0)? {
            0 => super::FleetChoice::Go,
            1 => super::FleetChoice::Pause,
            _ => super::FleetChoice::Stop,
        })
    }

    fn too_many_failures(&mut self, ask: &super::FailuresAsk) -> Result<super::FleetChoice, Stop> {
        let items = [
            "Pause: save and exit (resume asks again)".to_string(),
            "Go on with the next host".to_string(),
            "Stop the run here".to_string(),
        ];
        Ok(match self.select(&ask.question(), &items, 0)? {
            0 => super::FleetChoice::Pause,
            1 => super::FleetChoice::Go,
            _ => super::FleetChoice::Stop,
        })
    }

    fn accept_changed_runbook(&mut self, changes: &[String]) -> Result<bool, Stop> {
        for c in changes {
            self.show(&format!("  {c}"));
        }
        self.confirm(
            "The runbook changed since this run started. Go on with the new version?",
            Some(false),
        )
    }

    fn in_doubt(&mut self, view: &StepView, evidence: &Evidence) -> Result<InDoubtChoice, Stop> {
        let prompt = format!(
            "Step {} ({}) was started and never finished. Did it complete?",
            view.key, view.title
        );
        if evidence.unreachable.is_some() && evidence.supports != Supports::Completed {
            return self.wait_or_settle(
                &prompt,
                "Try to reach the host again, then look again",
                "It completed: mark it done by hand (a note is required)",
            );
        }
        if evidence.still_running {
            return self.wait_or_settle(
                &prompt,
                "Wait for it to end, then look again",
                "It completed: mark it done (a note is required)",
            );
        }
        let completed = match evidence.supports {
            Supports::Completed => "It completed: mark it done (the evidence shows it)",
            Supports::NotCompleted => {
                "It completed: mark it done (a note is required: the evidence says it did not)"
            }
            Supports::Unknown => "It completed: mark it done (a note is required)",
        };
        let items = [
            completed.to_string(),
            evidence.rerun.clone(),
            "Skip it (a reason is required)".to_string(),
            "Pause: save and exit".to_string(),
        ];
        let default = match evidence.supports {
            Supports::Completed => 0,
            Supports::NotCompleted | Supports::Unknown => 1,
        };
        loop {
            return Ok(match self.select(&prompt, &items, default)? {
                0 if evidence.supports == Supports::Completed => {
                    let note = self.text("Note (optional)", None, false)?;
                    InDoubtChoice::Done((!note.trim().is_empty()).then_some(note))
                }
                0 => InDoubtChoice::Done(Some(self.text("How do you know? (note)", None, true)?)),
                1 => InDoubtChoice::Rerun,
                2 => match self.reason("Why skip it?")? {
                    Some(r) => InDoubtChoice::Skip(r),
                    None => continue,
                },
                _ => InDoubtChoice::Pause,
            });
        }
    }

    fn decision(&mut self, view: &StepView) -> Result<Decision, Stop> {
        let mut items = vec![
            "Done".to_string(),
            "Skip (a reason is required)".to_string(),
            "Problem: show known issues and choose what to do".to_string(),
            "Add a note".to_string(),
            "Show details".to_string(),
            "Show the plan: what is done and what is left".to_string(),
        ];
        let automatable = !view.automation.is_empty() && !view.automated && view.reachable;
        if automatable {
            items.push("Run the automation instead".to_string());
        }
        if !view.revisitable.is_empty() {
            items.push(format!(
                "Revisit an earlier step ({} skipped, partly done or done by hand)",
                view.revisitable.len()
            ));
        }
        items.push("Pause: save and exit".to_string());
        let prompt = match step_label(view) {
            Some(step) => format!("Step {step}: what now?"),
            None => "What now?".to_string(),
        };
        loop {
            let choice = self.select(&prompt, &items, 0)?;
            let label = items[choice].as_str();
            return Ok(match choice {
                0 => Decision::Done { note: None },
                1 => match self.reason("Why skip it?")? {
                    Some(reason) => Decision::Skip { reason },
                    None => continue,
                },
                2 => {
                    let note = self.text("What went wrong? (optional)", None, false)?;
                    Decision::Problem {
                        note: (!note.trim().is_empty()).then_some(note),
                    }
                }
                3 => Decision::Note(self.text("Note", None, true)?),
                4 => Decision::Details,
                5 => Decision::ShowPlan,
                _ if label.starts_with("Run the automation") => Decision::Automate,
                _ if label.starts_with("Revisit") => match self.pick_revisit(&view.revisitable)? {
                    Some(key) => Decision::Revisit(key),
                    None => continue,
                },
                _ => Decision::Pause,
            });
        }
    }

    fn declined(&mut self, view: &StepView) -> Result<Declined, Stop> {
        let items = [
            "Run it now".to_string(),
            "I did it by hand: mark it done by hand (a note is required)".to_string(),
            "Skip (a reason is required)".to_string(),
            "Add a note".to_string(),
            "Show the plan: what is done and what is left".to_string(),
            "Pause: save and exit".to_string(),
        ];
        let prompt = match step_label(view) {
            Some(step) => format!("Step {step} was not run. What now?"),
            None => "It was not run. What now?".to_string(),
        };
        // The default runs nothing and marks nothing: pause.
        let pause = items.len() - 1;
        loop {
            return Ok(match self.select(&prompt, &items, pause)? {
                0 => Declined::RunNow,
                1 => Declined::ByHand(self.text("What did you do by hand?", None, true)?),
                2 => match self.reason("Why skip it?")? {
                    Some(r) => Declined::Skip(r),
                    None => continue,
                },
                3 => Declined::Note(self.text("Note", None, true)?),
                4 => Declined::ShowPlan,
                _ => Declined::Pause,
            });
        }
    }

    fn revisit(
        &mut self,
        candidates: &[(String, String)],
        at_end: bool,
    ) -> Result<Option<String>, Stop> {
        if !at_end {
            return self.pick_revisit(candidates);
        }
        let mut labels = vec!["Finish the run".to_string()];
        labels.extend(candidates.iter().map(|(_, l)| format!("Reopen {l}")));
        let prompt = format!(
            "Every step instance is settled; {} can be reopened. Finish the run?",
            candidates.len()
        );
        let i = self.select(&prompt, &labels, 0)?;
        Ok(i.checked_sub(1)
            .and_then(|i| candidates.get(i))
            .map(|(k, _)| k.clone()))
    }

    fn items(&mut self, view: &StepView) -> Result<Vec<ItemAnswer>, Stop> {
        let labels: Vec<String> = view.items.iter().map(|(_, t)| t.clone()).collect();
        // Nothing is ticked for the operator: each item is confirmed on its own.
        let prompt = match self.face {
            Face::Lines => "Tick every item done",
            Face::Colour | Face::Plain => {
                "Tick every item done (space ticks, a ticks all, enter confirms)"
            }
        };
        let ticked = self.ticks(prompt, &labels)?;
        let mut out = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            if ticked.contains(&i) {
                out.push(ItemAnswer::Done);
            } else {
                let reason = self.text(&format!("Why is \"{label}\" not done?"), None, true)?;
                out.push(ItemAnswer::NotDone(reason));
            }
        }
        Ok(out)
    }

    fn accept_host_key(
        &mut self,
        host: &str,
        algorithm: &str,
        fingerprint: &str,
    ) -> Result<bool, Stop> {
        self.show(&format!(
            "{host} offers a host key that is not pinned: {algorithm} {fingerprint}"
        ));
        self.confirm(
            &format!("Is this {host}'s key? Trust and pin it"),
            Some(false),
        )
    }

    fn host_password(&mut self, host: &str, user: &str) -> Result<Option<String>, Stop> {
        self.secret(&format!("SSH password of {user} on {host} (not stored)"))
            .map(Some)
    }

    fn confirm_action(&mut self, view: &StepView) -> Result<bool, Stop> {
        let prompt = match step_label(view) {
            Some(step) => format!("Run step {step} now?"),
            None => "Run it now?".to_string(),
        };
        self.confirm(&prompt, Some(false))
    }

    fn confirm_parallel(
        &mut self,
        view: &StepView,
        hosts: &[String],
        at_once: usize,
    ) -> Result<bool, Stop> {
        let on = match hosts {
            [] => String::new(),
            [one] => format!(" on {one}"),
            [a, b] => format!(" on {a} and {b}"),
            [first, .., last] => format!(" on {first}..{last} ({} hosts)", hosts.len()),
        };
        let prompt = match step_label(view) {
            Some(step) => format!("Run step {step}{on}, {at_once} at a time?"),
            None => format!("Run it{on}, {at_once} at a time?"),
        };
        self.confirm(&prompt, Some(false))
    }

    fn failure(&mut self, view: &StepView, failure: &FailureView) -> Result<FailureChoice, Stop> {
        let mut labels = vec!["Retry".to_string()];
        let mut workarounds = Vec::new();
        for k in &failure.known_issues {
            if !k.steps.is_empty() {
                labels.push(format!(
                    "Apply the workaround of \"{}\", then retry",
                    k.title
                ));
                workarounds.push(k.id.clone());
            }
        }
        labels.push("I did it by hand: mark it done by hand (a note is required)".into());
        if failure.has_host {
            labels.push("Skip this host (a reason is required)".into());
        }
        labels.push("Skip the step for all hosts (a reason is required)".into());
        labels.push("Pause: save and exit (resume takes it up again)".into());
        labels.push("Abort (progress is saved)".into());
        let prompt = format!("{} failed. What now?", view.key);
        loop {
            let choice = self.select(&prompt, &labels, 0)?;
            if choice == 0 {
                return Ok(FailureChoice::Retry);
            }
            if choice <= workarounds.len() {
                return Ok(FailureChoice::Workaround(workarounds[choice - 1].clone()));
            }
            let rest = labels[choice].as_str();
            return Ok(if rest.starts_with("I did it") {
                FailureChoice::DoneByHand(self.text("What did you do?", None, true)?)
            } else if rest.starts_with("Skip this host") {
                match self.reason("Why skip this host?")? {
                    Some(r) => FailureChoice::SkipHost(r),
                    None => continue,
                }
            } else if rest.starts_with("Skip the step") {
                match self.reason("Why skip the step?")? {
                    Some(r) => FailureChoice::SkipStep(r),
                    None => continue,
                }
            } else if rest.starts_with("Pause") {
                FailureChoice::Pause
            } else {
                FailureChoice::Abort
            });
        }
    }

    fn show(&mut self, text: &str) {
        self.line(text);
    }

    fn progress(&mut self, done: usize, total: usize, message: &str) {
        if self.face == Face::Lines {
            // A plain line each time the count moves, instead of a bar drawn in place.
            if self.shown_progress != Some((done, total)) {
                self.shown_progress = Some((done, total));
                self.line(&format!(
                    "progress: {done}/{total} step instances  {message}"
                ));
            }
            return;
        }
        self.start_drawing();
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        self.bar.set_message(message.to_string());
    }

    fn action_bar(&mut self) -> ProgressBar {
        if self.face == Face::Lines {
            return ProgressBar::hidden();
        }
        self.start_drawing();
        let bar = self
            .bars
            .insert_before(&self.bar, ProgressBar::new_spinner());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    fn restore(&mut self) {
        if self.face == Face::Lines {
            // Nothing was drawn in place, and the cursor was never hidden.
            return;
        }
        self.bar.finish_and_clear();
        let _ = self.bars.clear();
        let _ = self.term.show_cursor();
    }
}

impl Drop for TerminalPrompter {
    /// An error that ends the command early still leaves no bar behind and the cursor shown.
    fn drop(&mut self) {
        self.restore();
    }
}
