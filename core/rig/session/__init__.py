"""One run of ``rig``: bootstrap (config file, logging, plugins), options, selection,
configuration, the workflow on every connection, scratch data, reports, exit code."""
