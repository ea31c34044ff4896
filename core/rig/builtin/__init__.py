"""rig-core's built-in plugins, registered through the same plugin host as installed ones (as
pytest's are): the common workflow and the reporters. All but ``common`` can be turned off with
``-p no:NAME``."""

BUILTINS: tuple[tuple[str, str], ...] = (
    ("common", "rig.builtin.common"),
    ("report_json", "rig.builtin.report_json"),
    ("junit_xml", "rig.builtin.junit_xml"),
    ("report_html", "rig.builtin.report_html"),
    ("dashboard", "rig.builtin.dashboard"),
    ("terminal", "rig.builtin.terminal"),
)
"""``(name, module)`` of each built-in plugin, in registration order."""

ESSENTIAL = ("common",)
"""Built-ins that cannot be disabled: without them there is no connection to test."""
