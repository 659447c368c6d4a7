"""Helpers shared by the built-in codecs (option checking, decoding text lines, tabular headers)."""
