// What the CLI needs from the terminal: whether a stream is one, prompts
// (with echo off for passwords, through termios), and whether colour is
// wanted (NO_COLOR, https://no-color.org). Functions of the process's
// standard streams; call from the main thread only.
#pragma once

#include <string>

#include "common/result.h"

namespace nexus::cli {

bool StdinIsTerminal();
bool StderrIsTerminal();
bool StdoutIsTerminal();

// Colour only on a terminal and only when NO_COLOR is unset or empty.
bool ColorWanted(bool stream_is_terminal);

// Writes `prompt` to stderr (when stdin is a terminal) and reads one line
// from stdin (without its newline). End of input before any character is an
// error.
Result<std::string> PromptLine(const std::string& prompt);

// The same with echo turned off while the line is typed, when stdin is a
// terminal (a pipe is read as is, so scripts can pass a password on stdin).
// Echo is restored even after Ctrl-C.
Result<std::string> PromptHidden(const std::string& prompt);

}  // namespace nexus::cli
