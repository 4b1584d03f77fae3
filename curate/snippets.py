"""What the ledger keeps of a removed text: its ``snippet``, the first ``SNIPPET_CHARS``
characters with their secrets redacted, as the code filter redacts them (``redact_secrets``:
private keys, provider tokens, passwords and keys assigned as literals, quoted or not), in every
domain: the ledger is shared more widely than the corpus, and what it holds of a removed or
skipped document never reached the filter's rewrite (a file skipped at read, a record removed
before the ``secrets`` step, a web page or book, where no secrets rule runs). Every text's by every form, a code
document's by its language's forms too, as the filter picks them (``code_languages``). A file whose name
marks it as a credential store (``.npmrc``, ``id_rsa``, ``*.pem``, ``.env``, ...) keeps no text at all:
``CREDENTIAL_SNIPPET``, its rule and ``chars`` as they were. PII (e-mail addresses, phones, IPs)
is left as it is: the ``pii`` rewrite is opt-in per domain, and the audit shows what was removed.
"""
from __future__ import annotations

import re
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

CREDENTIAL_SNIPPET = "[credential file: not kept]"
# Credential stores by name (the path's last part, after a dump's "file.jsonl:" too): package
# registries' and HTTP/git logins, cloud credentials, SSH private keys, keys and keystores.
CREDENTIAL_NAMES = frozenset({
    ".npmrc", ".yarnrc.yml", ".pypirc", ".netrc", "_netrc", ".git-credentials", ".pgpass", ".htpasswd", ".s3cfg",
    ".boto", ".dockercfg", "credentials", "credentials.json", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
})
CREDENTIAL_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".ppk")
# A secret that starts inside the snippet ends within this many characters (a token is at most
# ~260, a password's value 200): the redaction reads this much more, so none is cut unseen.
MARGIN = 512
_LAST_PART = re.compile(r"[^/\\:]*\Z")


def is_credential_file(path) -> bool:
    name = _LAST_PART.search(path or "").group().lower()
    # an app's .env (.env.local, .env.production: dotenv, as readers/code.py names them) holds its
    # database URLs and mail passwords, in forms no secrets pattern knows
    return name in CREDENTIAL_NAMES or name.endswith(CREDENTIAL_SUFFIXES) or name == ".env" or name.startswith(".env.")


def code_languages(domains: pa.Array, langs: pa.Array) -> list:
    """The language whose forms each text's secrets are redacted in too, after every form's (``redact_secrets``): a code
    document's own (the code reader gives every file one, a skipped file too), as the code filter's rewrite picks its
    forms; None for any other document (a web page's or book's ``language`` is a natural one) and a code record of none."""
    return [lang if d == "code" else None for d, lang in zip(domains.to_pylist(), langs.to_pylist())]


def snippets(texts: pa.Array, paths: pa.Array, size: int, langs: list | None = None) -> pa.Array:
    """The ledger's snippets of ``texts`` (their files' ``paths``, their ``langs``: ``code_languages``): the first ``size``
    characters, secrets redacted; a credential file's ``CREDENTIAL_SNIPPET``."""
    heads = pc.utf8_slice_codeunits(texts, 0, size + MARGIN).to_pylist()
    out = [None if t is None else CREDENTIAL_SNIPPET if is_credential_file(p) else redacted_head(t, size, lang)
           for t, p, lang in zip(heads, paths.to_pylist(), langs or [None] * len(heads))]
    return pa.array(out, pa.string())


def redacted_head(text: str, size: int, language: str | None = None) -> str:
    """``text``'s first ``size`` characters, secrets redacted (a secret cut at ``size`` seen whole):
    a snippet, or a bad line a quarantine row or an error quotes (readers/jsonl.py)."""
    from curate.stages.filters.secrets import redact_secrets

    return redact_secrets(text[:size + MARGIN], language)[:size]


def shared_words(spans: list, texts: pa.Array, paths: pa.Array, normalize, langs: list | None = None) -> list:
    """Decontaminate's snippets: the normalised words (``spans``) a removed text shares with an
    evaluation item, each word of a secret in the text ``<KEY>`` (the span's words are lower case
    without digits or punctuation, which no secrets pattern finds: a word is a secret's when the
    redacted text has fewer of it; ``langs``: ``code_languages``); a credential file's ``CREDENTIAL_SNIPPET``."""
    from curate.stages.filters.secrets import SECRETS, redact_secrets

    out = []
    for span, text, path, lang in zip(spans, texts.to_pylist(), paths.to_pylist(), langs or [None] * len(spans)):
        if is_credential_file(path):
            span = CREDENTIAL_SNIPPET
        elif text and (red := redact_secrets(text, lang)) != text:
            a, b = normalize([text, red]).to_pylist()
            gone = Counter(a.split(" ")) - Counter(b.split(" "))
            span = " ".join(SECRETS["placeholder"] if w in gone else w for w in span.split(" "))
        out.append(span)
    return out
