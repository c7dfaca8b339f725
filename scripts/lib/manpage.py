#!/usr/bin/env python3
"""Writes a man page (roff) for one gearbox binary from its `--experimental-dump-help` JSON.

Usage: manpage.py BINARY SECTION VERSION > page.SECTION
The page has the command's abstract, synopsis, discussion and options, then one subsection
per subcommand with its own synopsis and options. No network and no extra tools needed.
"""
import json
import subprocess
import sys


def roff(text):
    """Escapes text for roff: backslashes, and a leading dot or quote on any line."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        if line.startswith(".") or line.startswith("'"):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def option_label(arg):
    names = []
    for name in arg.get("names", []):
        prefix = "--" if name["kind"] == "long" else "-"
        names.append(prefix + name["name"])
    if not names:
        label = "<" + arg.get("valueName", "value") + ">"
    else:
        label = ", ".join(names)
        if arg["kind"] == "option":
            label += " <" + arg.get("valueName", "value") + ">"
    return label


def displayed_subcommands(command):
    """Subcommands worth a section: not hidden, and not argument-parser's own `help`."""
    return [s for s in command.get("subcommands", []) if s.get("shouldDisplay", True) and s["commandName"] != "help"]


def synopsis(command, path):
    parts = [path]
    for arg in command.get("arguments", []):
        if not arg.get("shouldDisplay", True):
            continue
        label = option_label(arg).split(", ")[-1] if arg.get("names") else option_label(arg)
        parts.append(label if not arg.get("isOptional") else "[" + label + "]")
    if displayed_subcommands(command):
        parts.append("<subcommand>")
    return " ".join(parts)


def options(command):
    out = []
    for arg in command.get("arguments", []):
        if not arg.get("shouldDisplay", True):
            continue
        out.append(".TP")
        out.append("\\fB" + roff(option_label(arg)) + "\\fR")
        text = arg.get("abstract", "")
        if arg.get("defaultValue") not in (None, ""):
            text += " (default: " + arg["defaultValue"] + ")"
        out.append(roff(text))
    return out


def page(command, section, version):
    name = command["commandName"]
    lines = [
        '.TH "%s" "%s" "" "gearbox %s" "gearbox"' % (name.upper(), section, version),
        ".SH NAME",
        roff(name + " - " + command.get("abstract", "")),
        ".SH SYNOPSIS",
        ".B " + roff(synopsis(command, name)),
    ]
    if command.get("discussion"):
        lines += [".SH DESCRIPTION", roff(command["discussion"])]
    lines += [".SH OPTIONS"] + options(command)
    subcommands = displayed_subcommands(command)
    if subcommands:
        lines.append(".SH SUBCOMMANDS")
        for sub in subcommands:
            path = name + " " + sub["commandName"]
            lines += [".SS " + roff(path), roff(sub.get("abstract", "")), ".PP", ".B " + roff(synopsis(sub, path))]
            if sub.get("discussion"):
                lines += [".PP", roff(sub["discussion"])]
            lines += options(sub)
    lines += [".SH VERSION", "gearbox " + version]
    return "\n".join(lines) + "\n"


def main():
    binary, section, version = sys.argv[1:4]
    dump = subprocess.run([binary, "--experimental-dump-help"], check=True, capture_output=True, text=True).stdout
    sys.stdout.write(page(json.loads(dump)["command"], section, version))


if __name__ == "__main__":
    main()
