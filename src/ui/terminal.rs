//! Asking a person at a terminal: dialoguer prompts and an indicatif progress bar.
//!
//! The progress bar is suspended while a prompt is drawn, so it never garbles one. Ctrl-C at a
//! prompt (raw mode, where the terminal sends no signal) comes back as [`Stop::Interrupted`].
//! The terminal library also raises SIGINT when it reads that key, so [`prompt_state`] tells the
//! Ctrl-C handler that the prompt has it: the walk then saves and stops on its own, once.

use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use console::{Term, measure_text_width, style, truncate_str};
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, MultiSelect, Password, Select};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{
    Decision, FailureChoice, FailureView, InDoubtChoice, ItemAnswer, Prompter, StepView, Stop,
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

pub struct TerminalPrompter {
    theme: ColorfulTheme,
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
            theme: ColorfulTheme::default(),
            bars,
            bar,
            drawing: false,
            term: Term::stderr(),
        }
    }

    fn start_drawing(&mut self) {
        if !self.drawing {
            self.drawing = true;
            self.bars.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(500));
        }
    }

    /// Whether standard input and error are a terminal a person can answer at.
    pub fn available() -> bool {
        Term::stderr().is_term()
            && console::user_attended_stderr()
            && Term::stdout().features().is_attended()
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

    /// Prints lines above the prompts (not redrawn, so they may wrap).
    fn line(&self, text: &str) {
        self.bar.suspend(|| eprintln!("{text}"));
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
            let mut input = Input::<String>::with_theme(&self.theme)
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
        let prompt = self.fit(prompt, 0);
        let items = self.fit_items(items);
        self.ask(|| {
            Select::with_theme(&self.theme)
                .with_prompt(prompt)
                .items(&items)
                .default(default)
                .interact_on(&self.term)
        })
    }
}

impl Prompter for TerminalPrompter {
    fn interactive(&self) -> bool {
        true
    }

    fn param(&mut self, p: &Parameter) -> Result<Value, Stop> {
        if let Some(help) = &p.help {
            self.show(&format!("  {}", style(help).dim()));
        }
        match p.kind {
            ParamType::Bool => {
                let default = matches!(p.default, Some(Value::Bool(true)));
                let has_default = p.default.is_some();
                let prompt = self.fit(&p.prompt, CONFIRM_ROOM);
                self.ask_line(|| {
                    let c = Confirm::with_theme(&self.theme).with_prompt(prompt);
                    let c = if has_default { c.default(default) } else { c };
                    c.interact_on(&self.term)
                })
                .map(Value::Bool)
            }
            ParamType::Choice => {
                let default = match &p.default {
                    Some(Value::Text(t)) => p.choices.iter().position(|c| c == t).unwrap_or(0),
                    _ => 0,
                };
                let i = self.select(&p.prompt, &p.choices, default)?;
                Ok(Value::Text(p.choices[i].clone()))
            }
            ParamType::Secret => {
                let prompt = self.fit(&p.prompt, 0);
                self.ask_line(|| {
                    Password::with_theme(&self.theme)
                        .with_prompt(prompt)
                        .interact_on(&self.term)
                })
                .map(Value::Text)
            }
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
            if !hosts.is_empty() {
                return Ok(hosts);
            }
        }
    }

    fn confirm_prerequisites(&mut self, prerequisites: &[String]) -> Result<bool, Stop> {
        self.ask(|| {
            Confirm::with_theme(&self.theme)
                .with_prompt(format!(
                    "Are all {} prerequisites met?",
                    prerequisites.len()
                ))
                .default(false)
                .interact_on(&self.term)
        })
    }

    fn override_blocking(&mut self, blocking: usize) -> Result<Option<String>, Stop> {
        let prompt = self.fit(
            &format!("{blocking} blocking finding(s). Go on anyway (you will be asked why)?"),
            CONFIRM_ROOM,
        );
        let go = self.ask_line(|| {
            Confirm::with_theme(&self.theme)
                .with_prompt(prompt)
                .default(false)
                .interact_on(&self.term)
        })?;
        if !go {
            return Ok(None);
        }
        self.text("Why is it safe to go on?", None, true).map(Some)
    }

    fn accept_changed_runbook(&mut self, changes: &[String]) -> Result<bool, Stop> {
        for c in changes {
            self.show(&format!("  {c}"));
        }
        let prompt = self.fit(
            "The runbook changed since this run started. Go on with the new version?",
            CONFIRM_ROOM,
        );
        self.ask_line(|| {
            Confirm::with_theme(&self.theme)
                .with_prompt(prompt)
                .default(false)
                .interact_on(&self.term)
        })
    }

    fn in_doubt(&mut self, view: &StepView) -> Result<InDoubtChoice, Stop> {
        let again = if view.automated {
            "It did not: run it again"
        } else {
            "It was not done: show the step again"
        };
        let items = [
            "It completed: mark it done".to_string(),
            again.to_string(),
            "Skip it".to_string(),
        ];
        let prompt = format!(
            "Step {} ({}) was started and never finished. Did it complete?",
            view.key, view.title
        );
        match self.select(&prompt, &items, 0)? {
            0 => Ok(InDoubtChoice::Done(self.text(
                "How do you know? (note)",
                None,
                true,
            )?)),
            1 => Ok(InDoubtChoice::Rerun),
            _ => Ok(InDoubtChoice::Skip(self.text(
                "Why skip it?",
                None,
                true,
            )?)),
        }
    }

    fn decision(&mut self, view: &StepView) -> Result<Decision, Stop> {
        let mut items = vec![
            "Done".to_string(),
            "Skip (a reason is required)".to_string(),
            "Problem: show known issues and choose what to do".to_string(),
            "Add a note".to_string(),
            "Show details".to_string(),
        ];
        let automatable = !view.automation.is_empty() && !view.automated && view.reachable;
        if automatable {
            items.push("Run the automation instead".to_string());
        }
        items.push("Pause: save and exit".to_string());
        let prompt = match step_label(view) {
            Some(step) => format!("Step {step}: what now?"),
            None => "What now?".to_string(),
        };
        let choice = self.select(&prompt, &items, 0)?;
        let pause = items.len() - 1;
        Ok(match choice {
            0 => Decision::Done { note: None },
            1 => Decision::Skip {
                reason: self.text("Why skip it?", None, true)?,
            },
            2 => {
                let note = self.text("What went wrong? (optional)", None, false)?;
                Decision::Problem {
                    note: (!note.trim().is_empty()).then_some(note),
                }
            }
            3 => Decision::Note(self.text("Note", None, true)?),
            4 => Decision::Details,
            c if c == pause => Decision::Pause,
            _ => Decision::Automate,
        })
    }

    fn items(&mut self, view: &StepView) -> Result<Vec<ItemAnswer>, Stop> {
        let labels: Vec<String> = view.items.iter().map(|(_, t)| t.clone()).collect();
        // Nothing is ticked for the operator: each item is confirmed on its own.
        let defaults = vec![false; labels.len()];
        let shown = self.fit_items(&labels);
        let prompt = self.fit(
            "Tick every item done (space ticks, a ticks all, enter confirms)",
            0,
        );
        let ticked = self.ask(|| {
            MultiSelect::with_theme(&self.theme)
                .with_prompt(prompt)
                .items(&shown)
                .defaults(&defaults)
                .interact_on(&self.term)
        })?;
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

    fn confirm_action(&mut self, view: &StepView) -> Result<bool, Stop> {
        let prompt = match step_label(view) {
            Some(step) => format!("Run step {step} now?"),
            None => "Run it now?".to_string(),
        };
        let prompt = self.fit(&prompt, CONFIRM_ROOM);
        self.ask_line(|| {
            Confirm::with_theme(&self.theme)
                .with_prompt(prompt)
                .default(false)
                .interact_on(&self.term)
        })
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
        labels.push("I did it by hand: mark it done (note required)".into());
        if failure.has_host {
            labels.push("Skip this host".into());
        }
        labels.push("Skip the step for all hosts".into());
        labels.push("Abort (progress is saved)".into());
        let prompt = format!("{} failed. What now?", view.key);
        let choice = self.select(&prompt, &labels, 0)?;
        if choice == 0 {
            return Ok(FailureChoice::Retry);
        }
        if choice <= workarounds.len() {
            return Ok(FailureChoice::Workaround(workarounds[choice - 1].clone()));
        }
        let rest = &labels[choice];
        Ok(if rest.starts_with("I did it") {
            FailureChoice::DoneByHand(self.text("What did you do?", None, true)?)
        } else if rest.starts_with("Skip this host") {
            FailureChoice::SkipHost(self.text("Why skip this host?", None, true)?)
        } else if rest.starts_with("Skip the step") {
            FailureChoice::SkipStep(self.text("Why skip the step?", None, true)?)
        } else {
            FailureChoice::Abort
        })
    }

    fn show(&mut self, text: &str) {
        self.bar.suspend(|| eprintln!("{text}"));
    }

    fn progress(&mut self, done: usize, total: usize, message: &str) {
        self.start_drawing();
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        self.bar.set_message(message.to_string());
    }

    fn action_bar(&mut self) -> ProgressBar {
        self.start_drawing();
        let bar = self
            .bars
            .insert_before(&self.bar, ProgressBar::new_spinner());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    fn restore(&mut self) {
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
