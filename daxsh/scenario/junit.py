"""JUnit XML of a ``daxsh run``: one testcase per file and kernel (CI systems read it).

A failed expectation is a ``<failure>``, an undecided race a ``<skipped>`` with its reason
(the run's exit status, 3, still says that nothing was decided), an invalid file an
``<error>`` testcase named after the file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .run import RunReport


def junit_xml(reports: list[RunReport], invalid: list[tuple[str, str]]) -> str:
    suite = ET.Element("testsuite", name="daxsh run")
    failures = errors = skipped = 0
    for r in reports:
        case = ET.SubElement(suite, "testcase", classname=_classname(r.scenario.path),
                             name=r.kernel, file=r.scenario.path)
        if r.failures:
            failures += 1
            f = ET.SubElement(case, "failure", message=r.failures[0], type="expectation")
            f.text = "\n".join(r.failures + [f"{s.number} [{s.status}] {s.line}" for s in r.steps])
        elif r.undecided and r.verdict is not None:
            skipped += 1
            ET.SubElement(case, "skipped", message=f"undecided ({r.verdict.reason}): "
                          f"{r.verdict.line}")
        out = ET.SubElement(case, "system-out")
        out.text = (r.verdict.line if r.verdict is not None else f"outcome: {r.outcome}")
    for path, msg in invalid:
        errors += 1
        case = ET.SubElement(suite, "testcase", classname=_classname(path), name="load", file=path)
        ET.SubElement(case, "error", message=msg, type="invalid").text = msg
    suite.set("tests", str(len(reports) + len(invalid)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _classname(path: str) -> str:
    p = Path(path)
    return ".".join([*p.parent.parts, p.stem]).lstrip(".") or p.name
