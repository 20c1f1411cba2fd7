"""Tests of auditpipe_operator.

This file makes pytest name these modules ``tests.*``: without it, pytest (importlib
mode) would name them ``operator.tests.*`` and re-import the folder ``operator/`` over
the standard library module ``operator``.
"""
