"""The subcommands of the ``plumberd`` command, one module each (:mod:`plumberd_logging.cli`)."""
