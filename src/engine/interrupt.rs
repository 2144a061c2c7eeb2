//! Ctrl-C, and the signals that end a process politely: saves, restores the terminal, and exits
//! 130 (Ctrl-C), 143 (SIGTERM; on Windows the console closing, a logoff or a shutdown) or 129
//! (SIGHUP) — at any point.
//!
//! SIGTERM and SIGHUP (signal-hook's thread on Unix), and the console's close, logoff and
//! shutdown events (a console handler on Windows), go the same way as a SIGINT that no prompt
//! takes: a running action is cancelled (its command's whole process group is killed, a copy
//! removes its temporary file) and the walk journals `interrupted` and exits; between steps the
//! save hook runs and the process exits at once. The exit code says which signal it was.
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
/// The signal that stopped the run: 0 for none yet, else its Unix number (2, 15, 1).
static SIGNAL: AtomicU8 = AtomicU8::new(0);
const SIGINT: u8 = 2;
const SIGTERM: u8 = 15;
const SIGHUP: u8 = 1;
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

/// Whether a run exists yet: before, Ctrl-C has nothing to save and says so.
static STARTED: AtomicBool = AtomicBool::new(true);

/// Installs the handler before a new run exists: Ctrl-C exits 130 saying nothing was started.
pub fn install_before_start() {
    install(Box::new(|| {}));
    STARTED.store(false, Ordering::SeqCst);
}

/// Installs the handler once; `hook` is what saving means for the current run.
pub fn install(hook: Hook) {
    *HOOK.lock().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    STARTED.store(true, Ordering::SeqCst);
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = ctrlc::set_handler(move || {
            let _ = SIGNAL.compare_exchange(0, SIGINT, Ordering::SeqCst, Ordering::SeqCst);
            cancel_flag().store(true, Ordering::SeqCst);
            if STATE.load(Ordering::SeqCst) == ACTION || prompt_taken() {
                return;
            }
            exit_now();
        });
        terminate::install();
    });
}

/// A request to end the process (SIGTERM, SIGHUP, a closing console): cancels what runs, or
/// saves and exits at once. Returns only while an action is being cancelled.
fn terminate(signal: u8) {
    let _ = SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    cancel_flag().store(true, Ordering::SeqCst);
    if STATE.load(Ordering::SeqCst) == ACTION {
        return;
    }
    exit_now();
}

/// The exit code for a walk that was interrupted: 143 after SIGTERM, 129 after SIGHUP, else 130.
pub fn exit_code() -> crate::exit_codes::ExitCode {
    use crate::exit_codes::ExitCode;
    match SIGNAL.load(Ordering::SeqCst) {
        SIGTERM => ExitCode::Terminated,
        SIGHUP => ExitCode::HungUp,
        _ => ExitCode::Interrupted,
    }
}

/// What the journal's `interrupted` event says about the cause, when it was not Ctrl-C.
pub fn cause() -> Option<&'static str> {
    match SIGNAL.load(Ordering::SeqCst) {
        SIGTERM if cfg!(windows) => Some("the console was closed, or the user logged off"),
        SIGTERM => Some("terminated (SIGTERM)"),
        SIGHUP => Some("hung up (SIGHUP)"),
        _ => None,
    }
}

/// The sentence that tells the operator the run stopped: `Interrupted`, `Terminated (SIGTERM)`.
pub fn headline() -> &'static str {
    match SIGNAL.load(Ordering::SeqCst) {
        SIGTERM if cfg!(windows) => "Stopped (the console is closing)",
        SIGTERM => "Terminated (SIGTERM)",
        SIGHUP => "Hung up (SIGHUP)",
        _ => "Interrupted",
    }
}

#[cfg(unix)]
mod terminate {
    use signal_hook::consts::{SIGHUP, SIGTERM};
    use signal_hook::iterator::Signals;

    pub fn install() {
        let Ok(mut signals) = Signals::new([SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            for signal in signals.forever() {
                super::terminate(if signal == SIGHUP {
                    super::SIGHUP
                } else {
                    super::SIGTERM
                });
            }
        });
    }
}

#[cfg(windows)]
mod terminate {
    use std::time::Duration;

    use windows_sys::Win32::System::Console::{
        CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT, SetConsoleCtrlHandler,
    };
    use windows_sys::core::BOOL;

    /// Called on a thread of its own. Ctrl-C and Ctrl-Break are left to the next handler
    /// (ctrlc's). For a closing console, a logoff or a shutdown, Windows ends the process as
    /// soon as this returns (or after a few seconds): so it waits here while a cancelled action
    /// winds down and the walk saves and exits.
    unsafe extern "system" fn on_console_event(kind: u32) -> BOOL {
        if !matches!(
            kind,
            CTRL_CLOSE_EVENT | CTRL_LOGOFF_EVENT | CTRL_SHUTDOWN_EVENT
        ) {
            return 0;
        }
        super::terminate(super::SIGTERM);
        // An action was running: the walk journals and exits on its own.
        std::thread::sleep(Duration::from_secs(4));
        1
    }

    pub fn install() {
        // SAFETY: the handler is a plain function that lives as long as the process.
        unsafe {
            SetConsoleCtrlHandler(Some(on_console_event), 1);
        }
    }
}

#[cfg(not(any(unix, windows)))]
mod terminate {
    pub fn install() {}
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

/// Runs the save hook, restores the terminal and exits (130 for Ctrl-C, see [`exit_code`]).
pub fn exit_now() -> ! {
    if let Some(hook) = HOOK.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        hook();
    }
    // A terminal that cannot move its cursor never had it hidden, and gets no escape sequence.
    if !console::is_dumb() {
        let _ = console::Term::stderr().show_cursor();
    }
    if STARTED.load(Ordering::SeqCst) {
        crate::errln!(
            "\n{}: progress is saved; `stepwise resume` goes on from here.",
            headline()
        );
    } else {
        crate::errln!(
            "\n{} before the run started; nothing was started.",
            headline()
        );
    }
    std::process::exit(exit_code().code());
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
