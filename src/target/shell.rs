//! Command lines for a remote target's shell. SSH carries one string, which the server hands to
//! the account's shell; an argument vector becomes that string here, quoted so that no
//! argument (a parameter value included) can become shell syntax.
//!
//! - `powershell`: the program and its arguments as a PowerShell script (`& 'prog' 'arg'`, each a
//!   single-quoted literal), sent as `powershell -NoProfile -NonInteractive -EncodedCommand
//!   BASE64` of its UTF-16LE bytes, so that no quoting of the outer shell is involved at all.
//! - `cmd`: each word quoted by the rules Windows programs use to split their command line
//!   (`CommandLineToArgvW`), with `%` taken out of the quotes and escaped for `cmd` (`"^%"`), so
//!   that no environment variable is expanded.
//! - `sh`: each word in single quotes (`'` written as `'\''`).

use super::Shell;

/// The string sent over SSH to run `program` with `args` (an argument vector: no word is shell
/// syntax) on a target with `shell`. A runbook step that asks for a shell (`shell: true`) is
/// quoted by [`crate::actions::shell`] instead, which quotes only the parameter values.
pub fn command_line(shell: Shell, program: &str, args: &[String]) -> String {
    let words = || std::iter::once(program).chain(args.iter().map(String::as_str));
    match shell {
        Shell::Powershell => {
            let quoted: Vec<String> = words().map(powershell_literal).collect();
            let script = format!("& {}; exit $LASTEXITCODE", quoted.join(" "));
            format!(
                "powershell -NoProfile -NonInteractive -EncodedCommand {}",
                encode_powershell(&script)
            )
        }
        Shell::Cmd => words().map(cmd_word).collect::<Vec<_>>().join(" "),
        Shell::Sh => words().map(sh_word).collect::<Vec<_>>().join(" "),
    }
}

/// A PowerShell single-quoted literal: `'` doubled.
pub fn powershell_literal(word: &str) -> String {
    format!("'{}'", word.replace('\'', "''"))
}

/// What `-EncodedCommand` takes: the script's UTF-16LE bytes in base64.
pub fn encode_powershell(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64(&bytes)
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One word for `cmd`: quoted by the Windows argument rules, `%` escaped outside the quotes.
pub fn cmd_word(word: &str) -> String {
    let quoted = windows_argument(word);
    quoted.replace('%', "\"^%\"")
}

/// One argument quoted so that `CommandLineToArgvW` (and the C runtime) reads it back as it is:
/// in double quotes, a `"` preceded by a backslash, and backslashes doubled where they come
/// before a `"` (or the closing quote).
pub fn windows_argument(word: &str) -> String {
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in word.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            c => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.extend(std::iter::repeat_n('\\', backslashes * 2));
    out.push('"');
    out
}

/// One word for a POSIX shell: in single quotes.
pub fn sh_word(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powershell_encodes_utf16le_base64() {
        // `powershell -EncodedCommand` of "dir" is the base64 of d\0i\0r\0.
        assert_eq!(encode_powershell("dir"), "ZABpAHIA");
        assert_eq!(encode_powershell("é"), "6QA=");
        let line = command_line(
            Shell::Powershell,
            r"C:\Windows\System32\iisreset.exe",
            &["/noforce".into(), "it's $env:X".into()],
        );
        let script =
            r"& 'C:\Windows\System32\iisreset.exe' '/noforce' 'it''s $env:X'; exit $LASTEXITCODE";
        assert_eq!(
            line,
            format!(
                "powershell -NoProfile -NonInteractive -EncodedCommand {}",
                encode_powershell(script)
            )
        );
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }

    #[test]
    fn cmd_words_follow_the_windows_rules() {
        assert_eq!(windows_argument("plain"), "\"plain\"");
        assert_eq!(windows_argument("two words"), "\"two words\"");
        assert_eq!(windows_argument(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(windows_argument(r"C:\dir\"), r#""C:\dir\\""#);
        assert_eq!(windows_argument(r#"a\"b"#), r#""a\\\"b""#);
        assert_eq!(windows_argument(r"a\\b"), r#""a\\b""#);
        assert_eq!(windows_argument(""), "\"\"");
        assert_eq!(cmd_word("100% & done"), "\"100\"^%\" & done\"");
        assert_eq!(
            command_line(
                Shell::Cmd,
                "msiexec",
                &["/i".into(), r"D:\pkg\A b.msi".into()]
            ),
            r#""msiexec" "/i" "D:\pkg\A b.msi""#
        );
    }

    #[test]
    fn sh_words_are_single_quoted() {
        assert_eq!(sh_word("it's"), r"'it'\''s'");
        assert_eq!(
            command_line(Shell::Sh, "echo", &["$HOME; rm -rf /".into()]),
            "'echo' '$HOME; rm -rf /'"
        );
    }
}
