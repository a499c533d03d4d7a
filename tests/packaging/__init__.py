"""Tests of the installers' and scripts' parts that run here: the frozen entry, the shell scripts."""
