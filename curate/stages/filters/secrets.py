"""Secrets in code (on by default for the ``code`` domain): private keys, provider API tokens
and passwords or tokens assigned in code or config are replaced by ``<KEY>`` (StarCoder's
placeholder) and counted (``secrets_private_key``, ``secrets_token``, ``secrets_password``).

A rewrite, not a filter, and one that keeps the code valid: a token is replaced inside its
string, a password's value inside its quotes (the key and quotes kept), a PEM private key from
its BEGIN line to its END line only when all between is key material (base64, its headers,
the quotes and ``\\n`` of a string written across lines), so a redacted file still parses. An
unquoted value (``password: S3cret42``) is taken only in the languages of
``unquoted_languages`` (YAML, shell, ...), where it is a literal; in Python it is a name.
"""
from __future__ import annotations

import re

from curate.stages.filters.pii import redaction
from curate.stages.filters.rules import TextDoc, Rewrite

SECRETS = {
    "kinds": ["private_key", "token", "password"],
    "placeholder": "<KEY>",  # {KIND} / {kind}: the kind, upper / lower case
    # languages (of the code domain) whose `key: value` / `KEY=value` lines hold literals
    "unquoted_languages": ["yaml", "shell", "dockerfile", "makefile"],
}

# A key's material: base64 and whitespace, PEM headers (Proc-Type: 4,ENCRYPTED), and a
# string's quotes, escapes and concatenation; no brackets or semicolons, so code between a
# parser's BEGIN and END constants never matches. No "-----" either: the search from a BEGIN
# stops at the next BEGIN, where it scanned 64 KB from each (a file of BEGIN lines without
# their END: 8.6 s a MB).
_PEM = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK|)-----(?:[A-Za-z0-9+/=\s\"'\\,:.]|-(?!----)){64,65536}?"
                  r"-----END \1PRIVATE KEY\2-----")
# Tokens with a provider's prefix: precise enough to take wherever they stand, as a whole run
# of [\w-]: tried only where a run starts, not at each "sk-" inside one (a run of "sk-sk-...",
# then a non-ASCII letter that fails the end's test: each start scanned to the run's end, 4 s
# for 30 KB).
_TOKEN = re.compile(
    r"(?<![\w-])(?:(?:AKIA|ASIA)[A-Z0-9]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}"  # GitHub
    r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|xox[abposr]-[A-Za-z0-9-]{10,250}"  # Slack
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API key
    r"|[rs]k_(?:live|test)_[0-9A-Za-z]{16,247}"  # Stripe
    r"|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}"  # OpenAI, Anthropic
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})"  # a signed JWT
    r"(?![\w-])"
)
# A name that ends with a secret's word, then its value: quoted anywhere, unquoted at a line's
# end in config-like languages. A value is a literal of 6+ characters with a letter and a
# digit: not "password", not ${VAR}, %(name)s, {{ x }}, <your-key> or os.environ[...].
# The quoted form is found from its operator and quote (a case-insensitive search for the names
# at every position is 8x slower), the name then checked just before it.
_NAME = r"(?:pass(?:word|wd)|pwd|secret|token|api_?key|access_?key|auth_?key|secret_?key|private_?key)"
_VALUE = r"(?P<v>[A-Za-z0-9_+/=.@!#%^&*~-]{6,200})"
_QUOTED = re.compile(rf"[=:>][ \t]*(?P<q>[\"']){_VALUE}(?P=q)")
_NAMED = re.compile(rf"(?i){_NAME}[\"']?[ \t]*(?::[ \t]*[\w&<>\[\]. *]{{1,30}})?[:=]?$")  # a type between: `password: &str =`
_UNQUOTED = re.compile(rf"(?im)^[ \t]*(?:export[ \t]+|ENV[ \t]+)?[\w.-]*{_NAME}[ \t]*(?:=|:=|:)[ \t]*{_VALUE}[ \t]*$")


_PATH = ("/", "./", "../", "~/")


_WORDY = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def _looks_random(v: str) -> bool:
    """A secret's value, not a name: a name (of a token, a key, a file) is in one letter case with digits and ``_.-``
    (``eos_token = "endoftext1"``, ``secret: db-secret-v1``, ``token = "i18n_key1"``). A value
    mixing upper and lower case, or with another symbol (``+/=@!``), is taken as random; one in a
    single case only when long (16+) and a fifth digits or more (hex, a UUID)."""
    if any(c.isupper() for c in v) and any(c.islower() for c in v):
        return True
    if not set(v.lower()) <= _WORDY:
        return True
    return len(v) >= 16 and 5 * sum(c.isdigit() for c in v) >= len(v)


def _value_ok(m: re.Match) -> bool:
    # Not a path: a key's file (private_key: /etc/ssl/private/site1.key), a working directory
    # (PWD=/var/lib/app2, pwd = './build/v1'), an endpoint (token = "/oauth/v2/token").
    v = m.group("v")
    return (any(c.isdigit() for c in v) and any(c.isalpha() for c in v) and not v.startswith(_PATH)
            and _looks_random(v))


def _named_value_ok(m: re.Match) -> bool:
    return _value_ok(m) and _NAMED.search(m.string, max(0, m.start() - 40), m.start()) is not None


def _token_ok(m: re.Match) -> bool:
    return any(c.isdigit() for c in m.group())  # random, not a word (sk-loading-spinner-...)


# The regexes run only on texts that can match: substring tests are ~50x faster than a regex
# that tries every position.
_TOKEN_PREFIXES = ("AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox", "AIza",
                   "k_live_", "k_test_", "sk-", "eyJ")
_NAME_WORDS = ("pass", "pwd", "secret", "token", "key")
PATTERNS = {
    "private_key": [(lambda t: "PRIVATE KEY" in t, _PEM, None)],
    "token": [(lambda t: any(p in t for p in _TOKEN_PREFIXES), _TOKEN, _token_ok)],
    "password": [(lambda t: True, _QUOTED, _named_value_ok)],
}
_CONFIG_PATTERNS = PATTERNS | {"password": PATTERNS["password"] + [
    (lambda t: any(w in t.lower() for w in _NAME_WORDS), _UNQUOTED, _value_ok)]}


def secrets_rewrite(cfg: dict) -> Rewrite:
    code = redaction("secrets", PATTERNS, cfg["kinds"], cfg["placeholder"])
    config = redaction("secrets", _CONFIG_PATTERNS, cfg["kinds"], cfg["placeholder"])
    langs = frozenset(str(x).lower() for x in cfg["unquoted_languages"])

    def redact(doc: TextDoc) -> tuple[str, dict]:
        return (config if (doc.language or "").lower() in langs else code).fn(doc)

    return Rewrite("secrets", redact)
