//! Prompts for a terminal that cannot move its cursor (`TERM=dumb`, or no `TERM` at all on
//! Unix): every question is printed once and answered with a line of text.
//!
//! Nothing here writes an escape sequence: a menu is a numbered list (the default marked `>`),
//! a tick list is a numbered list answered with the numbers of the items done, a yes/no question
//! takes `y` or `n`. Questions go to standard error, answers are read from standard input in the
//! terminal's own line mode, so Ctrl-C is the ordinary signal (the walk saves and exits 130), and
//! the end of input stops the walk with progress saved, as a missing answer does.

use std::io::{self, BufRead};

use super::Stop;
use super::wrap::wrap;
use crate::stdio;

/// Reads one answer line, without its line ending. The end of input is a missing answer.
fn read_answer() -> Result<String, Stop> {
    let mut line = String::new();
    match io::stdin().lock().read_line(&mut line) {
        Ok(0) => Err(Stop::Missing(
            "standard input ended before the question was answered".into(),
        )),
        Ok(_) => Ok(line.trim_end_matches(['\n', '\r']).to_string()),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(Stop::Interrupted),
        Err(e) => Err(Stop::Io(crate::error::describe_io(&e))),
    }
}

fn say(text: &str, width: usize) {
    stdio::err(&wrap(text, width));
}

/// A line of text; Enter keeps `default`. A required answer is asked again until given.
pub fn text(
    prompt: &str,
    default: Option<&str>,
    required: bool,
    width: usize,
) -> Result<String, Stop> {
    loop {
        match default {
            Some(d) => say(&format!("{prompt} [{d}]: "), width),
            None => say(&format!("{prompt}: "), width),
        }
        let answer = read_answer()?;
        let answer = answer.trim();
        if answer.is_empty() {
            if let Some(d) = default {
                return Ok(d.to_string());
            }
            if required {
                say("  an answer is required\n", width);
                continue;
            }
        }
        return Ok(answer.to_string());
    }
}

/// Echo on the controlling terminal turned off for as long as this lives.
///
/// A secret's reader turns echo off only once it starts reading, after its prompt is drawn; keys
/// typed (or pasted) as soon as the prompt shows would be echoed in between. Holding this from
/// before the prompt closes that gap; dropping it puts the terminal back as it was.
pub struct EchoOff {
    #[cfg(unix)]
    saved: Option<(std::fs::File, rustix::termios::Termios)>,
}

impl EchoOff {
    /// Turns echo off, if there is a controlling terminal whose modes can be set.
    pub fn new() -> EchoOff {
        #[cfg(unix)]
        {
            use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
            let saved = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .ok()
                .and_then(|tty| {
                    let was = tcgetattr(&tty).ok()?;
                    let mut quiet = was.clone();
                    quiet.local_modes.remove(LocalModes::ECHO);
                    tcsetattr(&tty, OptionalActions::Now, &quiet).ok()?;
                    Some((tty, was))
                });
            EchoOff { saved }
        }
        #[cfg(not(unix))]
        EchoOff {}
    }
}

impl Default for EchoOff {
    fn default() -> Self {
        EchoOff::new()
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some((tty, was)) = &self.saved {
            let _ = rustix::termios::tcsetattr(tty, rustix::termios::OptionalActions::Now, was);
        }
    }
}

/// A secret, read without echo; nothing about it is written back.
pub fn secret(prompt: &str, width: usize) -> Result<String, Stop> {
    let _quiet = EchoOff::new();
    loop {
        say(&format!("{prompt}: "), width);
        let answer = console::Term::stderr().read_secure_line().map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                Stop::Interrupted
            } else {
                Stop::Io(crate::error::describe_io(&e))
            }
        })?;
        if !answer.is_empty() {
            return Ok(answer);
        }
        say("  an answer is required\n", width);
    }
}

/// Yes or no; Enter keeps `default` when there is one.
pub fn confirm(prompt: &str, default: Option<bool>, width: usize) -> Result<bool, Stop> {
    let hint = match default {
        Some(true) => "[Y/n]",
        Some(false) => "[y/N]",
        None => "[y/n]",
    };
    loop {
        say(&format!("{prompt} {hint} "), width);
        match read_answer()?.trim().to_lowercase().as_str() {
            "y" | "yes" => return Ok(true),
            "n" | "no" => return Ok(false),
            "" if default.is_some() => return Ok(default.unwrap_or(false)),
            _ => say("  answer y or n\n", width),
        }
    }
}

/// One entry of a numbered menu; Enter keeps `default`, which is marked `>`.
pub fn select(prompt: &str, items: &[String], default: usize, width: usize) -> Result<usize, Stop> {
    let mut menu = format!("{prompt}\n");
    for (i, item) in items.iter().enumerate() {
        let mark = if i == default { '>' } else { ' ' };
        menu.push_str(&format!("{mark} {:>2}. {item}\n", i + 1));
    }
    say(&menu, width);
    loop {
        say(
            &format!("Number (Enter for {}): ", default.saturating_add(1)),
            width,
        );
        let answer = read_answer()?;
        let answer = answer.trim();
        if answer.is_empty() {
            return Ok(default);
        }
        match answer.parse::<usize>() {
            Ok(n) if (1..=items.len()).contains(&n) => return Ok(n - 1),
            _ => say(
                &format!("  answer a number from 1 to {}\n", items.len()),
                width,
            ),
        }
    }
}

/// The items ticked of a numbered list: their numbers, `all`, or Enter for none.
pub fn ticks(prompt: &str, items: &[String], width: usize) -> Result<Vec<usize>, Stop> {
    let mut list = format!("{prompt}\n");
    for (i, item) in items.iter().enumerate() {
        list.push_str(&format!("  [ ] {:>2}. {item}\n", i + 1));
    }
    say(&list, width);
    loop {
        say(
            "Numbers of the items done, such as 1 3 or 2-5 (all: every one; Enter: none): ",
            width,
        );
        match parse_ticks(&read_answer()?, items.len()) {
            Ok(ticked) => return Ok(ticked),
            Err(m) => say(&format!("  {m}\n"), width),
        }
    }
}

/// `1 3`, `1,3`, `2-4`, `all`, or nothing: the 0-based indexes, sorted, each once.
fn parse_ticks(answer: &str, count: usize) -> Result<Vec<usize>, String> {
    let answer = answer.trim();
    if answer.eq_ignore_ascii_case("all") {
        return Ok((0..count).collect());
    }
    let mut out = Vec::new();
    for part in answer.split([' ', ',']).filter(|p| !p.is_empty()) {
        let number = |s: &str| match s.trim().parse::<usize>() {
            Ok(n) if (1..=count).contains(&n) => Ok(n - 1),
            _ => Err(format!(
                "`{part}` is not an item: answer numbers from 1 to {count}"
            )),
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                out.extend(a.min(b)..=a.max(b));
            }
            None => out.push(number(part)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_numbers_ranges_all_or_none() {
        assert_eq!(parse_ticks("", 3), Ok(vec![]));
        assert_eq!(parse_ticks("3, 1 1", 3), Ok(vec![0, 2]));
        assert_eq!(parse_ticks("2-3", 3), Ok(vec![1, 2]));
        assert_eq!(parse_ticks("ALL", 3), Ok(vec![0, 1, 2]));
        assert_eq!(
            parse_ticks("4", 3),
            Err("`4` is not an item: answer numbers from 1 to 3".into())
        );
        assert_eq!(
            parse_ticks("x", 3),
            Err("`x` is not an item: answer numbers from 1 to 3".into())
        );
    }
}
