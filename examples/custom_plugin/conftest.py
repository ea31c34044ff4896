"""Lets ``pytest examples/custom_plugin/tests`` run from rig's repository too.

Run from there, pytest reads rig's own pyproject.toml, not this plugin's (whose
``pythonpath = ["."]`` puts the package on the path). pytest puts the directory of every
conftest.py it loads on ``sys.path`` (the default ``prepend`` import mode), so this file alone
makes ``import rig_expect_vars`` work without installing the plugin.
"""
