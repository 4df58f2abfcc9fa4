"""Tests of the plugin library, its harness and the helper ops with plugin paths."""
