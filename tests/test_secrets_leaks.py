"""Secrets that leaked through the code domain's redaction (secrets61), each shown on the pure rewrite
(``secrets_rewrite``, the rule the code filter runs) with the language a source tree's reader gives the file.

Ground truth is a parser of the format where one is at hand: PyYAML, configparser and python-dotenv read
the redacted file and must find ``<KEY>`` where the password was and every other value as it was. Java's
``.properties`` values were read once with the JDK's ``java.util.Properties.load`` (17.0) and written here:
``db.password letmein`` -> letmein, ``db.password = let\\`` + ``  mein`` -> letmein, ``c.password=ab;cd(ef,gh``
-> ab;cd(ef,gh, ``d.password : two words # not a comment`` -> the rest of the line, "#" and all.
"""
from __future__ import annotations

import configparser
import io

import pytest

from curate.readers.code import detect_language
from curate.stages.filters.rules import TextDoc
from curate.stages.filters.secrets import SECRETS, secrets_rewrite

_REDACT = secrets_rewrite(SECRETS).fn


def redact(text: str, language: str) -> str:
    return _REDACT(TextDoc(text, language))[0]


# --- .cfg files ---------------------------------------------------------------------------------------------------
def test_a_cfg_file_is_ini():
    """setup.cfg, tox's and flake8's .cfg files are INI; they had no language, so their unquoted
    `password = letmein` was no literal."""
    assert detect_language("setup.cfg") == detect_language("conf/app.cfg") == "ini"
