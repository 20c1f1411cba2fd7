"""The ``auditpipe`` command line: local stack, keys, replay, query, export, tail."""
