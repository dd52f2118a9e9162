"""The repository is self-contained and its own references are true.

- no tracked file names a path outside the repository (the shared reference or seed folders, a home or
  work directory); scratch locations of the machine (/tmp, /usr) are allowed only in scripts/;
- every "clinical-rules.md §N" citation names a section of docs/clinical-rules.md;
- every package-data glob of pyproject.toml matches a file;
- every test file a source docstring cites exists.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Paths that leave the repository. Built from pieces so that this file does not match itself.
_OUTSIDE = re.compile(
    "|".join(
        [
            r"\.\./" + "shared",
            "shared/" + "reference",
            "shared/" + "seeds",
            r"(?<![\w.])/" + r"work/",
            r"(?<![\w.])/" + r"home/\w",
            r"(?<![\w.])/" + r"Users/\w",
            r"(?<![\w.])/" + r"mnt/\w",
        ]
    )
)
_SYSTEM_SCRATCH = re.compile(r"(?<![\w.:/])/(?:tmp|var/tmp)/")
_BINARY_SUFFIXES = {
    ".png",
    ".pdf",
    ".xlsx",
    ".docx",
    ".sqlite",
    ".ttf",
    ".otf",
    ".woff",
    ".woff2",
    ".gz",
    ".zip",
    ".xpt",
}


def _tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed.decode().split("\0") if name]


def _text(path: Path) -> str | None:
    if path.suffix.lower() in _BINARY_SUFFIXES or not path.is_file():
        return None
    data = path.read_bytes()
    if b"\0" in data[:4096]:
        return None
    return data.decode("utf-8", errors="replace")


def test_no_tracked_file_names_a_path_outside_the_repository() -> None:
    offenders = []
    for path in _tracked_files():
        text = _text(path)
        if text is None:
            continue
        relative = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(text.splitlines(), 1):
            if _OUTSIDE.search(line) or (_SYSTEM_SCRATCH.search(line) and not relative.startswith("scripts/")):
                offenders.append(f"{relative}:{number}: {line.strip()[:120]}")
    assert not offenders, "paths outside the repository:\n" + "\n".join(offenders)


def test_the_outside_path_pattern_catches_what_it_should() -> None:
    for line in [
        "see " + "/work" + "/shared/" + "reference/x.md",
        "../" + "shared/" + "seeds",
        "in " + "/home" + "/alice/data",
    ]:
        assert _OUTSIDE.search(line), line
    for line in ["docs/clinical-rules.md §3", "sqlite:///registry.sqlite", "https://example.org/work/x"]:
        assert not _OUTSIDE.search(line), line


def _sections() -> set[str]:
    text = (ROOT / "docs" / "clinical-rules.md").read_text(encoding="utf-8")
    return set(re.findall(r"^## (\d+)\. ", text, flags=re.M))


def test_clinical_rules_citations_name_existing_sections() -> None:
    sections = _sections()
    assert sections == {"1", "2", "3", "4", "5"}
    cited = {}
    citation = re.compile(r"clinical-rules\.md((?:[ ,;]*§\d+)+)")
    for path in _tracked_files():
        text = _text(path)
        if text is None or path.suffix not in {".py", ".md", ".toml", ".j2"}:
            continue
        for match in citation.finditer(text):
            for number in re.findall(r"§(\d+)", match.group(1)):
                cited.setdefault(number, path.relative_to(ROOT).as_posix())
    assert cited, "no citation found: the pattern is wrong"
    missing = {number: where for number, where in cited.items() if number not in sections}
    assert not missing, f"citations of sections docs/clinical-rules.md does not have: {missing}"


def test_unconfirmed_rules_are_named_in_the_clinical_rules_document() -> None:
    from blinareg.rules import DEFAULT_RULES

    text = (ROOT / "docs" / "clinical-rules.md").read_text(encoding="utf-8")
    assert "UNCONFIRMED" in text
    # The groups of UNCONFIRMED rules are named there (the dose-modification rules as `dm_*`).
    for item in DEFAULT_RULES.unconfirmed_items():
        assert item.name in text or (item.name.startswith("dm_") and "`dm_*`" in text), item.name


def test_every_package_data_glob_matches_a_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = config["tool"]["setuptools"]["package-data"]
    for package, patterns in package_data.items():
        base = ROOT / "src" / package.replace(".", "/")
        for pattern in patterns:
            assert list(base.glob(pattern)), f"package-data {package}: {pattern!r} matches no file"


def test_cited_test_files_exist() -> None:
    cited = re.compile(r"\btests/[\w/]+\.py\b")
    missing = []
    for path in (ROOT / "src").rglob("*.py"):
        for name in cited.findall(path.read_text(encoding="utf-8")):
            if not (ROOT / name).is_file():
                missing.append(f"{path.relative_to(ROOT)} cites {name}")
    assert not missing, "\n".join(missing)


def _readme_block(heading: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    start = section.index("```sh\n") + len("```sh\n")
    return section[start : section.index("```", start)]


def test_readme_center_block_names_files_that_exist_and_ignores_its_outputs() -> None:
    block = _readme_block("## Using it with a center's data")
    named = set(re.findall(r"\btests/data/[\w./-]+", block))
    assert named, "the block should use the example files in tests/data/"
    for name in named:
        assert (ROOT / name).is_file(), name
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    for folder in re.findall(r"(?:--out |export |derive |synth [^\n]*--out )(\w+)/", block):
        assert f"/{folder}/" in ignored, f"{folder}/ is not in .gitignore"
    assert "*.sqlite" in ignored


def test_readme_benchmark_commands_name_existing_scripts() -> None:
    block = _readme_block("## Benchmarks")
    scripts = re.findall(r"benchmarks/\w+\.py", block)
    assert scripts
    for script in scripts:
        assert (ROOT / script).is_file(), script
