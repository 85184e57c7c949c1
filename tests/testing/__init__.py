"""Tests of plumberd_logging.testing: the in-process server, its plugin and the contract."""
