"""Checks that apply the clinical rules to recorded data (grades, doses); registered into CHECKS."""
