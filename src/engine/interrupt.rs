//! Ctrl-C: saves, restores the terminal, and exits 130 — at any point.
//!
//! At a raw-mode prompt the terminal sends no signal and the prompt itself returns
//! `Stop::Interrupted`; the terminal library raises SIGINT as well, which the handler then leaves
//! to the walk (it saves, restores the terminal and exits 130 itself, once). Everywhere else
//! SIGINT arrives here: while an action runs, the handler only raises the cancel flag (the action
//! stops its command, and the walk records and exits); at any other time (between steps) it runs
//! the registered save hook and exits.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::ui::terminal::{PromptState, prompt_state};

const IDLE: u8 = 0;
const ACTION: u8 = 1;

static STATE: AtomicU8 = AtomicU8::new(IDLE);
type Hook = Box<dyn FnMut() + Send>;
static HOOK: Mutex<Option<Hook>> = Mutex::new(None);
static CANCEL: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The flag an action checks to stop early.
pub fn cancel_flag() -> Arc<AtomicBool> {
    CANCEL
        .get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone()
}

pub fn interrupted() -> bool {
    cancel_flag().load(Ordering::SeqCst)
}

/// Installs the handler once; `hook` is what saving means for the current run.
pub fn install(hook: Hook) {
    *HOOK.lock().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let flag = cancel_flag();
        let _ = ctrlc::set_handler(move || {
            flag.store(true, Ordering::SeqCst);
            if STATE.load(Ordering::SeqCst) == ACTION || prompt_taken() {
                return;
            }
            exit_now();
        });
    });
}

/// Whether a prompt took the Ctrl-C: it returned it, or returns it within a moment. A SIGINT
/// that a waiting prompt does not see (`kill -INT`) is not taken, and exits here.
fn prompt_taken() -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match prompt_state() {
            PromptState::Interrupted => return true,
            PromptState::Idle => return false,
            PromptState::Waiting if Instant::now() >= deadline => return false,
            PromptState::Waiting => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Runs the save hook, restores the terminal and exits 130.
pub fn exit_now() -> ! {
    if let Some(hook) = HOOK.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        hook();
    }
    // A terminal that cannot move its cursor never had it hidden, and gets no escape sequence.
    if !console::is_dumb() {
        let _ = console::Term::stderr().show_cursor();
    }
    crate::errln!("\nInterrupted: progress is saved; `stepwise resume` goes on from here.");
    std::process::exit(130);
}

/// Marks the span in which an action runs: Ctrl-C then cancels the action instead of exiting.
pub struct ActionGuard;

impl ActionGuard {
    pub fn enter() -> ActionGuard {
        STATE.store(ACTION, Ordering::SeqCst);
        ActionGuard
    }
}

impl Drop for ActionGuard {
    fn drop(&mut self) {
        STATE.store(IDLE, Ordering::SeqCst);
    }
}
