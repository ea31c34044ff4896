"""Configuration: options from the command line, ``RIG_*`` environment variables, a TOML config
file and defaults, merged by one adapter over ConfigArgParse, and the run's :class:`Config`."""
