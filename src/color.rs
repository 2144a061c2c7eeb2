//! The colour decision for the whole process, made once from `--color` and the environment.
//!
//! `auto` (the default) colours a stream only when it is a terminal that supports colour, `TERM`
//! is not `dumb` and `NO_COLOR` is not set (and honours `CLICOLOR=0` and `CLICOLOR_FORCE=1`);
//! `always` and `never` override all of that. The decision lives in the terminal library's
//! switches, so everything drawn through it (prompts, bars, the words below) follows it.
//! Colour only ever marks what the words already say: nothing is said by colour alone.

use console::{Style, StyledObject};

/// `--color auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// Sets the process's colour switches for standard output and error.
pub fn apply(choice: ColorChoice) {
    match choice {
        ColorChoice::Auto => {}
        ColorChoice::Always | ColorChoice::Never => {
            let on = choice == ColorChoice::Always;
            console::set_colors_enabled(on);
            console::set_colors_enabled_stderr(on);
        }
    }
    #[cfg(windows)]
    windows::let_the_console_read_colour(
        console::colors_enabled(),
        console::colors_enabled_stderr(),
    );
}

#[cfg(windows)]
mod windows {
    use windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE;
    use windows_sys::Win32::System::Console::{
        ENABLE_VIRTUAL_TERMINAL_PROCESSING, GetConsoleMode, GetStdHandle, STD_ERROR_HANDLE,
        STD_HANDLE, STD_OUTPUT_HANDLE, SetConsoleMode,
    };

    /// A Windows console shows colour codes as text until it is told to read them
    /// (`ENABLE_VIRTUAL_TERMINAL_PROCESSING`). The terminal library does so when it decides on
    /// colour itself; colour forced by `--color always` or `CLICOLOR_FORCE` needs it done here.
    /// A stream that is not a console (a pipe, a file) is left alone.
    pub fn let_the_console_read_colour(stdout: bool, stderr: bool) {
        for (on, which) in [(stdout, STD_OUTPUT_HANDLE), (stderr, STD_ERROR_HANDLE)] {
            if on {
                enable(which);
            }
        }
    }

    fn enable(which: STD_HANDLE) {
        // SAFETY: the handle comes from GetStdHandle and is only queried and configured; the
        // mode is read into a local.
        unsafe {
            let handle = GetStdHandle(which);
            let mut mode = 0u32;
            if !handle.is_null()
                && handle != INVALID_HANDLE_VALUE
                && GetConsoleMode(handle, &mut mode) != 0
                && mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING == 0
            {
                SetConsoleMode(handle, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING);
            }
        }
    }
}

/// How bad a finding or a diagnostic is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Blocking findings and errors: red.
    Bad,
    /// Warnings: yellow.
    Warn,
    /// Everything else: as it is.
    Plain,
}

/// `text` in the colour of `tone`, for standard output (or standard error with `stderr`).
/// Padding given in a format string applies to the text, not to the colour codes.
pub fn paint<D>(text: D, tone: Tone, stderr: bool) -> StyledObject<D> {
    let style = match tone {
        Tone::Bad => Style::new().red().bold(),
        Tone::Warn => Style::new().yellow(),
        Tone::Plain => Style::new(),
    };
    let style = if stderr { style.for_stderr() } else { style };
    style.apply_to(text)
}
