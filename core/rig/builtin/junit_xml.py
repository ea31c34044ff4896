"""The built-in ``junit_xml`` plugin: ``--junit-xml FILE``, one test case per check, for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rig import types
from rig.config.config import Config
from rig.config.parser import OptionParser
from rig.engine.results import RunResult, Verdict
from rig.errors import ConfigError, os_reason
from rig.hookspecs import hookimpl
from rig.reportfile import write_atomically
from rig.terminal import printable


@hookimpl
def rig_addoption(parser: OptionParser) -> None:
    parser.getgroup("reports").addoption(
        "--junit-xml", type=types.output_file, metavar="FILE",
        help="write a JUnit XML report (one testcase per check) to FILE")


@hookimpl
def rig_write_report(result: RunResult, config: Config) -> None:
    path = config.getoption("junit_xml")
    if path:
        try:
            write_atomically(path, junit_xml(result))
        except OSError as exc:
            raise ConfigError(f"cannot write --junit-xml {path}: {os_reason(exc)}",
                              hint="check the path and its directory's permissions") from None


def junit_xml(result: RunResult) -> str:
    """The JUnit XML text: one testcase per check, classname ``rig.<plugin>.<connection>``;
    a connection that ended in error is a ``workflow`` testcase with an error."""
    suite = ET.Element(
        "testsuite", name="rig", tests=str(len(result.checks)),
        failures=str(result.count(Verdict.FAIL)), errors=str(result.count(Verdict.ERROR)),
        skipped=str(result.count(Verdict.SKIP)), time=f"{result.duration_s:.3f}",
    )
    for check in result.checks:
        case = ET.SubElement(
            suite, "testcase", name=check.name,
            classname=f"rig.{check.plugin or 'rig'}.{check.connection or 'run'}",
            time=f"{check.duration_s or 0.0:.3f}",
        )
        if check.verdict is Verdict.FAIL:
            _problem(case, "failure", check.detail)
        elif check.verdict is Verdict.ERROR:
            _problem(case, "error", check.detail)
        elif check.verdict is Verdict.SKIP:
            ET.SubElement(case, "skipped", message=printable(check.detail))
        elif check.verdict is Verdict.UNKNOWN:
            _problem(case, "error", f"undecided: {check.detail}")
    for conn in result.connections:
        if conn.error is not None:
            case = ET.SubElement(suite, "testcase", name="workflow",
                                 classname=f"rig.run.{conn.id}")
            _problem(case, "error", conn.error.message)
    for error in result.errors:
        case = ET.SubElement(suite, "testcase", name="run", classname="rig.run")
        _problem(case, "error", error.message)
    if result.timeline:
        ET.SubElement(suite, "system-out").text = "\n".join(
            printable(f"{e.at_s:.3f}s {e.connection or '-'} {e.name} {e.kind.value}: {e.detail}")
            for e in result.timeline)
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("errors", str(len(suite.findall("testcase/error"))))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _problem(case: ET.Element, tag: str, text: str) -> None:
    """A ``failure`` or ``error`` element: ``text`` as its message and body, control
    characters escaped (XML 1.0 cannot hold most of them, and the text may come from the
    server)."""
    shown = printable(text)
    ET.SubElement(case, tag, message=shown).text = shown
