"""The README points only at files the repository ships."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_points_only_inside_the_repository() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../" not in text
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if not target.startswith(("http://", "https://", "#")):
            assert (ROOT / target).exists(), target


def test_files_the_readme_names_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/.-])((?:scenarios|man|benchmarks|tests|daxsh)/[\w./-]+\w)",
                           text))
    assert "scenarios/2018-race.txt" in named
    missing = [p for p in sorted(named) if "*" not in p and not (ROOT / p).exists()]
    assert not missing, missing
