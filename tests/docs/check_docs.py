#!/usr/bin/python3
"""Checks that the documentation stays self-contained (ctest `docs`; standard library only).

    /usr/bin/python3 tests/docs/check_docs.py [ROOT]

ROOT defaults to the repository this script lives in. Checked:
  1. README.md is at most 12 KiB (the depth belongs in docs/);
  2. no text file of the repository (git ls-files, plus untracked files git does not ignore;
     without git, a walk that skips build trees and .git) names the retired specification
     file or a path outside the repository (the shared directory beside it, the absolute
     checkout path);
  3. every relative link in README.md, CHANGELOG.md and docs/*.md resolves to a file or
     directory inside ROOT, and every #anchor to a heading of the target, with GitHub's anchor
     rules (lowercase; spaces to hyphens; punctuation other than hyphens and underscores
     dropped; -1, -2, ... for repeated headings);
  4. every citation such as docs/numerics.md#quantize in those text files (code comments,
     messages) names an existing docs file and heading.
Prints what it checked and one line per failure; exits 1 if anything failed.
"""
import os
import re
import subprocess
import sys
import unicodedata
from urllib.parse import unquote

README_LIMIT = 12288
# Built from pieces so that this file does not match itself.
FORBIDDEN = [
    (re.compile(r"\bSPEC" + r"\.md\b"), "the retired specification file (" + "SPEC" + ".md)"),
    (re.compile(r"\.\./" + r"shared\b"), "a path outside the repository (../" + "shared)"),
    (re.compile(r"/" + r"work/"), "an absolute path outside the repository (/" + "work/)"),
]
LINKED_DOCS = ["README.md", "CHANGELOG.md", "docs/*.md"]
DOCS_CITATION = re.compile(r"(?<![\w/.-])docs/([A-Za-z0-9_.-]+\.md)#([A-Za-z0-9_-]+)")
WALK_SKIP_DIRS = {".git", "__pycache__", ".venv", "dist", "out", ".pytest_cache"}

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


# ---- 1. README size -------------------------------------------------------------------------

def check_readme_size(root):
    path = os.path.join(root, "README.md")
    if not os.path.isfile(path):
        fail("README.md: missing")
        return
    size = os.path.getsize(path)
    print(f"README.md: {size} bytes (limit {README_LIMIT})")
    if size > README_LIMIT:
        fail(f"README.md: {size} bytes, over the limit of {README_LIMIT}; move detail to docs/")


# ---- 2. forbidden mentions ------------------------------------------------------------------

def git_files(root):
    """The repository's files per git (tracked and untracked-but-not-ignored), or None when
    ROOT is not the top of a git work tree."""
    try:
        top = subprocess.run(["git", "-C", root, "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, check=True).stdout.strip()
        if os.path.realpath(top) != os.path.realpath(root):
            return None
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    names = sorted({n for n in out.decode("utf-8", "surrogateescape").split("\0") if n})
    return [n for n in names if os.path.isfile(os.path.join(root, n))], "git ls-files"


def walked_files(root):
    names = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames if d not in WALK_SKIP_DIRS
                             and not (rel == "." and d.startswith("build"))
                             and not d.endswith(".egg-info"))
        for f in sorted(filenames):
            if f.endswith((".pyc", ".o")):
                continue
            names.append(os.path.normpath(os.path.join(rel, f)))
    return names, "a walk of the tree (no git)"


def read_text(path):
    """The file's text, or None for a binary file (a NUL byte or not UTF-8)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def check_mentions(root):
    files, how = git_files(root) or walked_files(root)
    scanned = cited = 0
    for name in files:
        text = read_text(os.path.join(root, name))
        if text is None:
            continue
        scanned += 1
        for number, line in enumerate(text.splitlines(), 1):
            for pattern, what in FORBIDDEN:
                if pattern.search(line):
                    fail(f"{name}:{number}: mentions {what}")
            for doc, anchor in DOCS_CITATION.findall(line):
                cited += 1
                target = os.path.join(root, "docs", doc)
                if not os.path.isfile(target):
                    fail(f"{name}:{number}: cites docs/{doc}#{anchor}: no such file")
                elif anchor not in anchors(target):
                    fail(f"{name}:{number}: cites docs/{doc}#{anchor}: no such heading")
    print(f"scanned {scanned} text files ({how}) for the retired specification file and "
          f"paths outside the repository, and checked the {cited} docs/*.md#anchor citations "
          f"in them")


# ---- 3. links and anchors -------------------------------------------------------------------

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
HTML_ID = re.compile(r"<[^>]*\s(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.I)
# [text](dest "title") and ![alt](dest); dest may hold one level of balanced parentheses.
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>\n]*>|(?:[^\s()]|\([^\s()]*\))*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>\n]*>|\S+)", re.M)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)


def prose_lines(text):
    """The file's lines with fenced and indented code blocks blanked (line numbers kept)."""
    out, fence, previous_blank, in_indented = [], None, True, False
    for line in text.splitlines():
        m = FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line.strip()[len(m.group(1)):].strip():
                fence = None
            out.append("")
            continue
        if m:
            fence = m.group(1)
            out.append("")
            previous_blank = False
            continue
        blank = not line.strip()
        indented = line.startswith("    ") or line.startswith("\t")
        if indented and not blank and (previous_blank or in_indented):
            in_indented = True
            out.append("")
            continue
        if not blank:
            in_indented = False
        out.append(line)
        previous_blank = blank
    return out


def strip_inline(text):
    """Heading text as GitHub renders it, before slugging: code spans keep their content,
    links keep their text, images and HTML tags go."""
    text = CODE_SPAN.sub(lambda m: m.group(2).strip(), text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    return text


def slug(heading):
    """GitHub's anchor for a heading (github-slugger): lowercase, keep letters, digits,
    marks, connector punctuation (the underscore), hyphens and spaces, spaces to hyphens."""
    kept = []
    for ch in strip_inline(heading).strip().lower():
        cat = unicodedata.category(ch)
        if ch == " ":
            kept.append("-")
        elif ch == "-" or cat[0] in "LNM" or cat == "Pc":
            kept.append(ch)
    return "".join(kept)


_anchor_cache = {}


def anchors(path):
    """Every anchor a markdown file defines: its headings (repeats numbered) and HTML ids."""
    if path in _anchor_cache:
        return _anchor_cache[path]
    text = read_text(path) or ""
    lines = prose_lines(text)
    found, seen = set(), {}

    def add(heading):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")

    previous = ""
    for line in lines:
        m = ATX.match(line)
        if m:
            add(m.group(2) or "")
            previous = ""
            continue
        s = SETEXT.match(line)
        if s and previous.strip() and not ATX.match(previous) \
                and not re.match(r"^\s*([-*+]|\d+[.)])\s", previous) \
                and not previous.lstrip().startswith("|") \
                and (s.group(1)[0] == "=" or len(s.group(1)) >= 2):
            add(previous.strip())
            previous = ""
            continue
        for ident in HTML_ID.findall(line):
            found.add(ident)
        previous = line
    _anchor_cache[path] = found
    return found


def markdown_files(root):
    import glob
    names = []
    for pattern in LINKED_DOCS:
        names += sorted(glob.glob(os.path.join(root, pattern)))
    return names


def check_links(root):
    root_real = os.path.realpath(root)
    files = markdown_files(root)
    links = with_anchor = 0
    for path in files:
        name = os.path.relpath(path, root)
        lines = prose_lines(read_text(path) or "")
        text = "\n".join(lines)
        # Code spans are not links; keep their newlines so line numbers stay right.
        text = CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
        targets = [(m.start(), m.group(1)) for m in INLINE_LINK.finditer(text)]
        targets += [(m.start(), m.group(1)) for m in REFERENCE_DEF.finditer(text)]
        for offset, dest in sorted(targets):
            line = text.count("\n", 0, offset) + 1
            dest = dest.strip()
            if dest.startswith("<") and dest.endswith(">"):
                dest = dest[1:-1].strip()
            if not dest or SCHEME.match(dest) or dest.startswith("//"):
                continue  # external (http:, mailto:, ...)
            links += 1
            where = f"{name}:{line}: link ({dest})"
            target_part, _, fragment = dest.partition("#")
            target_part = unquote(target_part.split("?", 1)[0])
            if target_part.startswith("/"):
                fail(f"{where}: absolute path; use a path relative to {name}")
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(path), target_part)) \
                if target_part else path
            target_real = os.path.realpath(target)
            if os.path.commonpath([root_real, target_real]) != root_real:
                fail(f"{where}: points outside the repository")
                continue
            if not os.path.exists(target):
                fail(f"{where}: no such file {os.path.relpath(target, root)}")
                continue
            if not fragment:
                continue
            with_anchor += 1
            fragment = unquote(fragment)
            if os.path.isdir(target):
                fail(f"{where}: an anchor on a directory")
            elif target.endswith((".md", ".markdown")):
                if fragment not in anchors(target):
                    fail(f"{where}: no heading with anchor #{fragment} in "
                         f"{os.path.relpath(target, root)}")
            elif not re.fullmatch(r"L\d+(-L\d+)?", fragment):
                fail(f"{where}: #{fragment} on a file that is not markdown (only #L<n> works)")
    print(f"checked {links} relative links ({with_anchor} with an anchor) in {len(files)} "
          f"markdown files: {', '.join(os.path.relpath(f, root) for f in files)}")


def main():
    default = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else default)
    print(f"docs check of {root}")
    check_readme_size(root)
    check_mentions(root)
    check_links(root)
    if failures:
        print(f"docs check: {len(failures)} failure(s)")
        return 1
    print("docs check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
