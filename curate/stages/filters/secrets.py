"""Secrets in code (on by default for the ``code`` domain): private keys, provider API tokens
and passwords or tokens assigned in code or config are replaced by ``<KEY>`` (StarCoder's
placeholder) and counted (``secrets_private_key``, ``secrets_token``, ``secrets_password``).

A rewrite, not a filter, and one that keeps the code valid: a token is replaced inside its
string, a password's value inside its quotes (the key and quotes kept), a PEM private key from
its BEGIN line to its END line only when all between is key material (base64, its headers,
the quotes and ``\\n`` of a string written across lines), so a redacted file still parses. An
unquoted value (``password: S3cret42``) is taken only in the languages of
``unquoted_languages`` (YAML, shell, dotenv, ...), where it is a literal; in Python it is a
name. Tcl assigns with ``set name value`` (no operator): taken in ``set_languages``.
"""
from __future__ import annotations

import re
from types import SimpleNamespace
import unicodedata
from urllib.parse import unquote

import numpy as np

from curate.stages.filters.redact import Rewrite, code_points, redaction
from curate.stages.numba_cache import njit, numba_ready, python_twins

SECRETS = {
    "kinds": ["private_key", "token", "password"],
    "placeholder": "<KEY>",  # {KIND} / {kind}: the kind, upper / lower case
    # languages (of the code domain) whose `key: value` / `KEY=value` lines hold literals
    "unquoted_languages": ["yaml", "shell", "dockerfile", "makefile", "dotenv", "ini", "java properties"],
    # languages whose `set name value` lines assign a literal (Tcl: `set password "..."`, `set token {...}`)
    "set_languages": ["tcl"],
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
    r"|npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_-]{50,}"  # npm, PyPI (an .npmrc's _authToken=, a .pypirc's password =)
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})"  # a signed JWT
    r"(?![\w-])"
)
# A JWT wrapped after its second "." (a line's width, a string concatenated over lines): its signature alone on the next line,
# a string's closing and opening quotes (and "+") between, taken with it as one (``_TOKEN`` took neither line: a name's
# form took the first only, `token: <KEY>` then the signature's line); searched where "eyJ" is (on every text with a provider's
# prefix: a line of "sk-" and 16 K dots 0.6x main's speed, its lookbehind tried at each ".")
_JWT_WRAPPED = re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[\"'`]?[ \t]*\+?\r?\n[ \t]*\+?[ \t]*[\"'`]?"
                          r"[A-Za-z0-9_-]{16,}(?![\w-])")
# A name that ends with a secret's word, then its value: quoted anywhere, unquoted at a line's
# end in config-like languages. A value is a literal of 6+ characters with a letter and a
# digit: not "password", not ${VAR}, %(name)s, {{ x }}, <your-key> or os.environ[...].
# The quoted form is found from its operator and quote (a case-insensitive search for the names
# at every position is 8x slower), the name then checked just before it.
# `pass` as a whole word of a name only (SMTP_PASS, "pass":), not a word's end (bypass, compass)
# German's passwort and kennwort, French's mot_de_passe (passe as a whole word), Portuguese's senha, Spanish's contraseña,
# Russian's (Ukrainian's) пароль, Polish's hasło, Turkish's şifre, Chinese's 密码, Japanese's パスワード, Korean's 비밀번호 too:
# the names a password's are (``_PASSWORD_NAME``); the non-ASCII ones found by ``_UNAMES`` in the scan, and their ASCII spellings
# (contrasena, haslo, sifre) with Dutch's wachtwoord, Catalan's contrasenya, Finnish's salasana, Swedish's losenord, Danish's
# adgangskode, Norwegian's passord, Czech's heslo, Hungarian's jelszo, Croatian's lozinka (``_ANAMES_LIST``); a passphrase.
# Not Italian's parola ("word": a word game's `parola = "benvenuto"`) nor Russian's transliterated parol.
# Korean's and Japanese's in NFD too (conjoining jamo, a kana and its voicing mark: no combining mark of U+0300-U+036F that the
# reading drops, ``_INVISIBLES``): NFC and NFD spell the same name
_NFD_NAMES = ("\u1107\u1175\u1106\u1175\u11af\u1107\u1165\u11ab\u1112\u1169", "\u30cf\u309a\u30b9\u30ef\u30fc\u30c8\u3099")
_PW_WORDS = (r"pass(?:word|wd|wort|ord|phrase)|kennwort|senha|contrase(?:ña|na|nya)|пароль|hasło|şifre|密码|パスワード|비밀번호|pwd"
             r"|wachtwoord|haslo|sifre|salasana|losenord|adgangskode|heslo|jelszo|lozinka|" + "|".join(_NFD_NAMES))
# a key named for what it signs or opens (Laravel's APP_KEY, a cookie's or webhook's signing key, a licence's, a TOTP seed)
_NAME = (rf"(?:{_PW_WORDS}|(?<![^\W_])passe?|secret|token|api_?key|access_?key|auth_?key|secret_?key|private_?key"
         r"|(?:hmac|signing|encryption|decryption|master|session|jwt|app|client|cookie|webhook|licen[cs]e|aes|shared|t?otp)_?key"
         r"|key_?base)")  # key_base: Rails' secret_key_base
# a value's characters, quoted or not, a YAML block's lines' too (one class: three copies of it were kept alike)
_QCHARS = r"[A-Za-z0-9_+/=.@!#%^&*~$-]"
_VALUE = rf"(?P<v>{_QCHARS}{{6,200}})"  # a "$" inside (Xk9$mP2q), not starting it (``_value_ok``)
# Quoted: a string's prefix before its quote (Python's b'...', r"...", C#'s @"..."), a "$" inside (Xk9$mP2q:
# one that starts it is a variable, ``_named_value_ok``; "${", "$(" stop it), up to 4 KB (a base64 key on one line)
# Python's triple quotes and a JavaScript template literal or Go raw string (a `${` in one stops the value)
_STRING_QUOTE = r"(?:[bBrRuUfF]{1,2}|@)?(?P<q>\"\"\"|'{3}|[\"'`])"


def _until_quote(n: int, m: int) -> str:
    """A string's text of ``n`` to ``m`` characters, any but its quote and a backslash, then its quote (``_PAIR``,
    ``_USERPWD``, ``_AUTH``)."""
    return rf"(?P<v>(?:(?!(?P=q))[^\\\r\n]){{{n},{m}}})(?P=q)"


# The blanks after an operator: a zero-width character among them too (`password =\u200b "..."` hid the literal; ``_ZERO_WIDTHS``)
_ZERO_WIDTHS = "\u200b\u200c\u200d\u2060\ufeff"
_BLANKS = f"[ \\t{_ZERO_WIDTHS}]*"
_OPEN_QUOTE = rf"[=:>]{_BLANKS}{_STRING_QUOTE}"
# a password's may hold single blanks (`password = "two words here"`); a key's or token's not (``_named_value_ok``)
# The literal may stand in an expression: a negated call's one argument (`token = !check("...")`, `not verify("...")`) or
# a ternary's first branch (C's `api_key = prod ? "..." : "";`)
_IN_EXPRESSION = r"(?:(?P<c>(?:!|not[ \t]+)[\w.$]+\([ \t]*)|[\w.$]+[ \t]*\?[ \t]*)?"


def _marks() -> str:
    """Every combining mark of the BMP (Unicode's M categories), as a regex class's ranges: a word's, though ``\\w`` takes
    none (Devanagari's vowel signs and virama: `कृपया`, `नमस्ते`; NFD's accents)."""
    ranges, start = [], None
    for c in range(0x300, 0x10001):
        mark = c < 0x10000 and unicodedata.category(chr(c)).startswith("M")
        if mark and start is None:
            start = c
        elif not mark and start is not None:
            ranges.append(f"\\u{start:04x}-\\u{c - 1:04x}")
            start = None
    return "[" + "".join(ranges) + "]"


_MARK = _marks()
# a word after the first may hold another script's letters and marks (`"Xk9... läuft ab"`: prose after a key, ``_named_value_ok``)
_QWORD = rf"(?:{_QCHARS}|[^\W\d_\x00-\x7f]|{_MARK})"
# and so may the first, where another script's word comes before a key (`"ключ Xk9..."`: as `"key Xk9..."`); the ASCII run
# tried first, so a value of ASCII words matches as before. A word before another may end in a "," ";" or ":" (`"Família,
# Xk9... expira"`: no value read, the key was kept)
_QVALUE = rf"(?P<v>(?:{_QCHARS}{{1,4096}}|{_QWORD}{{1,200}})(?:[,;:]? {_QWORD}{{1,200}}){{0,30}})"
_QUOTED = re.compile(rf"[=:>]{_BLANKS}{_IN_EXPRESSION}{_STRING_QUOTE}{_QVALUE}(?P=q)(?(c)(?=[ \t]*\)))")
# a value an unquoted form read that is one quoted string of words: the quoted form's to judge (``_unquoted_ok``)
_QUOTED_WORDS = re.compile(rf"{_STRING_QUOTE}{_QVALUE}(?P=q)")
# a ternary's second branch (`secret = cond ? "..." : "<the key>"`, `token = prod ? nullptr : "..."`), its first a literal, a
# name or a call: searched apart (one search takes one literal: the first branch's); Python's conditional expression's
# else-branch likewise (`password = None if dev else "..."`: kept, and a snippet took the expression whole)
_TERNARY_FIRST = r"(?:[\w.$]+(?:\([^()\r\n]*\))?|\"[^\"\\\r\n]*\"|'[^'\\\r\n]*')"
_PY_CONDITIONAL = rf"{_TERNARY_FIRST}[ \t]+if[ \t][^\r\n]{{1,200}}?[ \t]else"
_QUOTED_ELSE = re.compile(rf"[=:>]{_BLANKS}(?:[\w.$]+[ \t]*\?[ \t]*{_TERNARY_FIRST}[ \t]*:|{_PY_CONDITIONAL})[ \t]*{_STRING_QUOTE}"
                          rf"(?P<v>{_QCHARS}{{1,4096}}(?: {_QCHARS}{{1,200}}){{0,30}})(?P=q)")
# A literal given to a setter (setPassword("..."), .withApiKey('...'), builder.password("...")) or beside its
# quoted name in a call (setProperty("db.password", "..."), os.Setenv("DB_PASSWORD", ...), ENV.fetch("X_TOKEN", ...))
_CALL = re.compile(rf"(?i)(?:(?<![a-z0-9])(?:set|with)_?\w*?|\.)(?P<n>{_NAME})[ \t]*\([ \t]*{_STRING_QUOTE}(?P<v>{_QCHARS}{{6,4096}})(?P=q)")
# its value any printable characters but its quote and a backslash (wp-config.php's define('AUTH_KEY', '...'): 64
# random characters, "|<];( " among them), taken where it mixes cases, digits and symbols (``_wide_ok``)
# wp-config's other keys and salts (LOGGED_IN_KEY, NONCE_KEY, AUTH_SALT, ...) by their names
_PAIR = re.compile(rf"(?i)\([ \t]*[\"'][\w.-]*(?:{_NAME}|(?:logged_in|nonce)_key|(?:auth|logged_in|nonce)_salt)[\"'][ \t]*,[ \t]*{_STRING_QUOTE}{_until_quote(6, 4096)}")
# a type between: `password: &str =`; "\r" before the "\n" the window ends in: the operator starts a CRLF file's next line
_NAMED = re.compile(rf"(?i)(?P<n>{_NAME})[\"']?[ \t]*(?::[ \t]*[\w&<>\[\]. *]{{1,30}})?[:=]?\r?$")
# A line's end is "\n", "\r\n" or a lone "\r" (a file from Windows or an old Mac: a code dump keeps
# its files' line ends); ``_lines`` spans whole "\n" lines, each holding whole "\r" lines
_BOL, _EOL = r"(?:^|(?<=\r))", r"(?=\r|$)"
# shell's export/readonly/local/declare, a Dockerfile's ENV and ARG (a build argument's default); Make's ?= and +=
_UNQUOTED_NAME = (rf"(?im){_BOL}[ \t]*(?:(?:export|readonly|local|declare(?:[ \t]+-\w+)*|ENV|ARG)[ \t]+)?[\w.-]*(?P<n>{_NAME})"
                  rf"[ \t]*(?:=|:=|::=|\?=|\+=|:){_BLANKS}")
# In a config file (YAML, .env, INI, Makefiles: ``_CONFIG_PATTERNS``) a value is the rest of its line, ";", "(", ",", blanks
# and all (`password: ab;cd(ef,gh`, `password: correct horse battery staple`: PyYAML, configparser and python-dotenv read
# them whole; the value's characters were ``_QCHARS``, so each matched nothing and was kept), 6 to 200 characters, up to a
# comment: "#" after a blank starts one in YAML, .env and Makefiles, ";" after a blank in INI files (`password = letmein ; prod`;
# elsewhere the value before it is one too). Not starting with a quote (the quoted form's) nor one of YAML's indicators:
# a tag (`!vault |`), an anchor or alias (`*default`), a block's header, a flow collection (`[a, b]`, `{{ x }}`), INI's
# `%(name)s`, autoconf's `@X@`. A password's several words are judged as a quoted one's (``_password_ok``); a key's or token's has no blank.
# A YAML anchor (`&pw`) or the core `!!str` tag before the value is no part of it (`password: &pw letmein`: kept before). A ";"
# after a blank starts no value but a comment (`password = ; set in ~/.my.cnf`: an empty value).
_UNQUOTED = re.compile(rf"{_UNQUOTED_NAME}(?:(?:&[^\s,\[\]{{}}]+|!!str)[ \t]+){{0,2}}"
                       rf"(?P<v>(?!(?<=[ \t]);)[^\s\"'`!&*|>\[{{%@#][^\r\n]{{4,198}}?[^\s])(?:[ \t]+[#;][^\r\n]*)?[ \t]*{_EOL}")
# In a shell script or a Dockerfile (``_SHELL_PATTERNS``) a blank ends a value (`DB_PASSWORD=letmein run_app`, `ENV DB_PASSWORD=...
# OTHER=2`), and so does the shell's ";", "&", "|" or ")" (`export DB_PASSWORD=letmein; echo ok`: kept, the value was to the line's end)
_UNQUOTED_SHELL = re.compile(rf"{_UNQUOTED_NAME}{_VALUE}(?=[ \t;&|)]|{_EOL})")
# A Java properties file: a key, then "=", ":" or blanks alone (`db.password letmein`), then its value to the line's end, "#"
# and ";" in it, continued past a line that ends in a backslash (the next line's leading blanks dropped): as
# java.util.Properties.load reads it; a "#" or "!" line is a comment. The key's name is found by the regex (the scan finds
# a name before an operator only): searched on the whole text of a properties file.
_PROPERTIES = re.compile(rf"(?im){_BOL}[ \t]*[\w.-]*(?P<n>{_NAME})(?:[ \t]*[=:][ \t]*|[ \t]+(?![=:]))"
                         r"(?P<v>(?:[^\\\s]|\\[^\r\n])(?:[^\\\r\n]|\\[^\r\n]){0,200}(?:\\\r?\n[ \t]*(?:[^\\\r\n]|\\[^\r\n]){0,200}){0,20})"
                         rf"[ \t]*{_EOL}")
# a line of several assignments (`ENV A=1 DB_PASSWORD=... B=2`, `export A=1 TOKEN=...`): the value to a blank
_ENV_MULTI = re.compile(rf"(?m){_BOL}[ \t]*(?:ENV|export)[ \t]+(?:[\w.-]+=[^\s\"']*[ \t]+)*[\w.-]*(?P<n>(?i:{_NAME}))={_VALUE}(?=[ \t]|{_EOL})")
# A Dockerfile's ENV and ARG are no shell: a value runs to a blank (`ENV A=1 DB_PASSWORD=ab;cd9f B=2`) or, after a blank for
# the "=" (`ENV DB_PASSWORD ab;cd9f`), to the line's end, ";|&()" in it; only quotes and a backslash are the parser's. The shell's
# form (``_UNQUOTED_SHELL``, ``_ENV_MULTI``, ``_ENV_BLANK``) ended it at ";&|)", leaving `ab;cd9f` whole (its 2 characters before ";").
_DOCKER_ENV = re.compile(rf"(?m){_BOL}[ \t]*(?:ENV|ARG)[ \t]+(?:[\w.-]+=[^\s\"']*[ \t]+)*[\w.-]*(?P<n>(?i:{_NAME}))="
                         rf"(?P<v>[^\s\"'`\\$][^\s\"'`\\]{{5,199}})(?=[ \t]|{_EOL})")
_DOCKER_ENV_BLANK = re.compile(rf"(?m){_BOL}[ \t]*ENV[ \t]+[\w.-]*(?P<n>(?i:{_NAME}))[ \t]+(?P<v>[^\s\"'`\\$][^\r\n]{{4,198}}?[^\s\\])[ \t]*{_EOL}")
# a YAML block scalar (`password: |`, `token: >-`): its lines at the first's indent (blank ones between), each a value alone, taken
# whole (one placeholder) and judged joined (``_block_ok``); searched on the indented lines after a name's (``_block_lines``)
# a header's indentation indicator (`|2`, `>-2`, `|+1`) and lines deeper than the first (the value's, their blanks kept) too
_YAML_BLOCK = re.compile(rf"(?im){_BOL}[ \t]*[\w.-]*(?P<n>{_NAME})[ \t]*:[ \t]*[|>](?:[1-9][+-]?|[+-][1-9]?)?[ \t]*\r?\n(?P<i>[ \t]+)"
                         rf"(?P<v>{_QCHARS}{{1,200}}(?:(?:[ \t]*\r?\n)+(?P=i)[ \t]*{_QCHARS}{{1,200}}){{0,100}})[ \t]*{_EOL}")
# a Dockerfile's older `ENV NAME value` (a blank for its "="): searched on the lines holding "ENV" (``_env_lines``)
_ENV_BLANK = re.compile(rf"(?m){_BOL}[ \t]*ENV[ \t]+[\w.-]*(?P<n>(?i:{_NAME}))[ \t]+{_VALUE}[ \t]*{_EOL}")
# A password in a URL's user-info (postgres://app:PW@db, redis://:PW@host): its value, scheme, user and
# host kept. Read as urllib's urlsplit does: the user-info runs to the authority's last "@", the user to
# its first ":" (a raw "@" in a password, `app:Tr@0ub4@db`, or an e-mail user, `smtp://me@x.test:PW@smtp`).
# Searched on the lines where the scan finds "://" then "@" (``_user_info``), the scheme's last letter checked after.
_URL = re.compile(r"://(?P<u>[^\s:/?#\"'`<>\\]{0,200}):(?P<v>[^\s/?#\"'`<>\\]{1,200})@")
# A password holding a raw "/", "?" or "#" (`u:ab/cd9@h`, left unescaped): urlsplit ends the authority at
# the first and reads no password at all; read as the writer meant it, as urlsplit reads it with the "/" escaped.
# No "@" in it (an "@" before the "/" is the form above's); a host after the "@" (not a path's /users/@me).
# An e-mail user (`smtp://me@x.test:ab/cd@h`) only after a mail scheme (``_url_slash_ok``): pip's
# `git+ssh://git@github.com:org/repo.git@v1.0` reads the same.
_URL_SLASH = re.compile(r"://(?P<u>[^\s:/?#\"'`<>\\@]{0,200}|[^\s:/?#\"'`<>\\@]{1,64}@[^\s:/?#\"'`<>\\@]{1,200}):(?P<v>[^\s/?#\"'`<>\\@]{1,200}[/?#][^\s\"'`<>\\@]{0,200})@(?=[\w\[])")
# a variable starts it ($PASSWORD, $pass, $1) or is it whole (Windows' %DB_PASSWORD% and !TOKEN!, autoconf's
# @DB_PASSWORD@); a "$" inside is the password's (root:Xk9$mP2q@); a format's directive (%s, %(pw)s, Go's %v,
# %1$s, %-10s: a template's), not another "%" (Xk9%!q2, 50%off)
_URL_PLACEHOLDER = re.compile(r"\A\$|[{}<>\[\]]|%(?:\d+\$|\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[A-Za-z](?![A-Za-z0-9])|\A[xX*.]+\Z"
                              r"|\A(?:%[A-Za-z_][\w.-]*%|![A-Za-z_]\w*!|@[A-Za-z_]\w*@)\Z")
# a password that says it is one (user:password@, My%20Pass, your_password, Go's test pa%2Fssword) or is a placeholder
# (changeme, example, dummy, required, none, ...),
# or names the token or key it stands for (oauth2:TOKEN@, api:YOUR_API_KEY@, user:PERSONAL_ACCESS_TOKEN@),
# escapes, separators and case aside
_PASSWORD_WORD = re.compile(r"(?:my|your|the|some|user|db|app|api|access|auth|personal|private|secret|git|github|gitlab|oauth2?)*"
                            r"(?:pass(?:word|wd|phrase)?|pwd|pw|secret|token|key|apikey)"
                            r"|changeme|placeholder|example|sample|dummy|redacted|hidden|notset|unset|none|null|undefined|required|optional")
# A password as a URL's query parameter (jdbc:mysql://db/app?user=app&password=..., a login's &pass=) to its
# "&", "#", blank or quote, or a connection string's key (JDBC's ;password=...;, ADO.NET's Password=...;,
# ODBC's Pwd=...;) to its ";" or quote, blanks inside (ADO.NET's values may hold them); a name after "_.-"
# too (db_password), not bypass=. Taken where the line holds a URL or another connection key (``_param_ok``).
_QUERY = re.compile(r"(?i)[?&](?:[\w.-]*[_.-])?(?:pass(?:word|wd)?|pwd)=(?P<v>[^&#\s\"'`<>\\]{1,200})")
_CONN = re.compile(r"(?i)(?<=[;\"'])[ \t]*(?:password|passwd|pwd)[ \t]*=[ \t]*(?P<v>[^;\"'`<>\\\r\n]{0,199}[^;\"'`<>\\\s])")
_CONN_CONTEXT = re.compile(r"(?i)://|jdbc:|(?:^|[;\"'])[ \t]*(?:user(?:[ \t]?id|name)?|uid|server|data[ \t]source|host|database|initial[ \t]catalog|driver|dsn)[ \t]*=")
# libpq's key/value string (`host=db user=app password=... dbname=app`): keys between blanks, a value unquoted to its
# blank or single-quoted (blanks inside); taken where the line holds another of libpq's keys (``_libpq_ok``)
_LIBPQ = re.compile(r"password(?<=[\s\"'`]password)[ \t]*=[ \t]*(?P<q>')?(?P<v>(?(q)[^'\\\r\n]|[^\s'\"`\\;]){1,200})(?(q)'|(?=[\s\"'`;]|\Z))")
_LIBPQ_CONTEXT = re.compile(r"(?:^|[\s\"'`])(?:host|hostaddr|port|dbname|user|sslmode|connect_timeout)[ \t]*=")
# libcurl's user:password option (PHP's curl_setopt($ch, CURLOPT_USERPWD, "ann:..."), pycurl's USERPWD), judged as a URL's
_USERPWD = re.compile(rf"USERPWD[ \t]*,[ \t]*{_STRING_QUOTE}(?P<u>[^:\"'`\\\r\n]{{0,200}}):{_until_quote(1, 200)}")
# An XML element named as a secret (Maven's <password>...</password>, <apiKey>, <client-secret>): its text
_XML = re.compile(rf"(?i)<(?P<n>[\w.:-]*{_NAME})>(?P<v>[^<>\s]{{6,4096}})</(?P=n)>")
# HTTP basic auth's pair (requests' auth=("ann", "..."), HTTPBasicAuth("ann", "...")): its password, judged as a URL's
_AUTH = re.compile(rf"(?:auth=\(|auth = \(|BasicAuth\()[ \t]*[\"'](?P<u>[^\"'\\\r\n]{{0,200}})[\"'][ \t]*,[ \t]*"
                   rf"{_STRING_QUOTE}{_until_quote(1, 200)}")
# A command line's password with no name before it: curl's `-u ann:PW` / `--user 'ann:PW'` (judged as a URL's)
# and mysql's `-pPW` (mysqldump, mysqladmin; `-p` alone prompts); searched on the lines where the scan finds them.
# The option is found, its command checked before it (``_curl_ok``, ``_mysql_ok``: a lazy scan from each "curl "
# to its option ran 500 characters from each, 0.3 MB/s on a line of `curl -u a ` repeated)
_CURL_USER = re.compile(r"(?<=[ \t])(?:-u|--user)(?:[ \t]*|=)(?P<q>[\"']?)"
                        r"(?P<u>[^\s:\"']{0,200}):(?P<v>[^\s\"']{1,200})(?P=q)(?=[\s\"'`;|&)]|\Z)")
_MYSQL_P = re.compile(r"(?<=[ \t])-p(?P<v>[^\s\"'`;|&)-][^\s\"'`;|&)]{0,199})")
_CURL_CMD = re.compile(r"(?<![\w-])curl[ \t]")
_MYSQL_CMD = re.compile(r"(?<![\w-])mysql(?:dump|admin|import|check|show|slap)?[ \t]")
# Tcl's assignment: `set db_password "..."`, `set ::api_token {...}`, `set secret ...`
_SET_LINE = rf"[ \t]*set[ \t]+[\w:.]*(?P<n>{_NAME})[ \t]+[\"{{]?{_VALUE}[\"}}]?[ \t]*"
_SET = re.compile(rf"(?im){_BOL}{_SET_LINE}{_EOL}")
# the same where no line ends with a lone "\r" (``_lone_cr``): "^" lets the regex find line starts fast (the lone-"\r"
# form over whole Tcl files made the secrets rewrite on the code sample 0.78x main's)
_SET_LF = re.compile(rf"(?im)^{_SET_LINE}\r?$")
_LONE_CR = re.compile(r"\r(?!\n)")


_PATH = ("/", "./", "../", "~/")


_WORDY = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def _looks_random(v: str) -> bool:
    """A secret's value, not a name: a name (of a token, a key, a file) is in one letter case with digits and ``_.-``
    (``eos_token = "endoftext1"``, ``secret: db-secret-v1``, ``token = "i18n_key1"``). A value
    mixing upper and lower case, or with another symbol (``+/=@!``), is taken as random; one in a
    single case only when long (16+) and a fifth digits or more (hex, a UUID), or 20+ characters
    without a ``_.-`` between words (an API key of lower-case letters and digits)."""
    if any(c.isupper() for c in v) and any(c.islower() for c in v):
        return True
    if not set(v.lower()) <= _WORDY:
        return True
    return len(v) >= 16 and 5 * sum(c.isdigit() for c in v) >= len(v) or len(v) >= 20 and not set(v) & set("_.-")


def _is_path(v: str) -> bool:
    """A path starts with /, ./, ../ or ~/ and has no part that looks random and long (16+) nor
    a + or =: base64 key material may start with / (``/J27Nv0Ezla...+VJ4zJyPI0=``)."""
    return v.startswith(_PATH) and not set(v) & set("+=") and not any(
        len(part) >= 16 and _looks_random(part) for part in v.split("/"))


def _value_ok(m: re.Match) -> bool:
    return _literal_ok(m.group("v"))


def _literal_ok(v: str) -> bool:
    """A key's or token's literal: random-looking (``_looks_random``), a letter and a digit in it. Not a path: a key's
    file (private_key: /etc/ssl/private/site1.key), a working directory (PWD=/var/lib/app2), an endpoint (token = "/oauth/v2/token")."""
    return (not v.startswith("$") and any(c.isdigit() for c in v) and any(c.isalpha() for c in v) and not _is_path(v)
            and _looks_random(v))


# a name that says password (not a token's or key's), and a value that is a label or message for one (a locale file's
# `password: "Mot de passe"`, `"Passwort"`, `"Enter your password"`)
_PASSWORD_NAME = re.compile(rf"(?i){_PW_WORDS}|passe?")
# Norwegian's passord to Welsh's cyfrinair ASCII labels too (non-ASCII ones never match a value); a test's outcome under `pass`
_LABEL = re.compile(r"(?i)passw|passord|\bpasse\b|kennwort|wachtwoord|wagwoord|contras[ei]|senha|salasana|parol[aeo]|parool|\bhas[lł]o|heslo|sifre|jelsz"
                    r"|l[oö]senord|adgangskode|kodeord|lozinka|kata (?:sandi|laluan)|pasahitz|fjalekalim|cyfrinair"
                    r"|\b(?:enter|your|must|invalid|incorrect|wrong|required|confirm|forgot|characters?"
                    r"|least|short|long|match|valid|please|new|old|current|again|digits?|letters?|length"
                    r"|passed|passing|success|succeeded|failed|failing|failure|skipped"
                    # a login form's button or field text (`login_pass = "submit"`, `"Log in"`)
                    r"|submit|log ?in|log ?on|sign ?in|sign ?up|cancel|reset|remember|button|field)\b")
_CODE = re.compile(r"[A-Z0-9_.-]+")  # a constant's code in one case (E10421, PW_TOO_SHORT_1)
# a plain word that is a schema's type (an API spec's `password: string`, Swagger's example body `{"password": "string"}`)
# or a setting's (`password: prompt`, `default`, `keyring`, `show_password: always`), whole, case and "_-" aside
_SETTING = re.compile(r"(?i)(?:string|str|text|integer|int|number|numeric|boolean|bool|object|array|list|dict|map|bytes|binary"
                      r"|char|varchar|uuid|email|date|datetime|default|prompt|ask|inherit(?:ed)?|enabled?|disabled?|always|never"
                      r"|auto(?:matic)?|manual|env(?:ironment)?|keyring|keychain|stdin|plain(?:text)?|encrypted|hashed|masked"
                      r"|sensitive|secure|write_?only|read_?only|unknown|unused|ignored|description|format|todo|tbd|fixme)")


# Several words of letters (a "," or the like ending one) that point elsewhere: a note where the value would be
# (`password: see the docs`, `same as above`, `"ask the admin"`, `set in the vault`, `not set here`), quoted or not, under a
# password's name (a secret key's words are its value: Flask's `'this is my secret'`): a pointer's word first, a place's last.
# A passphrase's words read as anything (`correct horse battery staple`, diceware's); one English grammar word anywhere
# (secrets62's rule) kept `in the cold night`, `not my dog`, `the quick brown fox`, `lamb as tide cobra in` (``_prose``)
_PROSE = re.compile(r"[A-Za-z]+[,;:]?(?: [A-Za-z]+[,;:]?)+")
_NOTE_FIRST = frozenset("see refer ask check consult contact same set use stored defined provided configured managed supplied"
                        " injected loaded kept taken generated read get from in via not".split())
_NOTE_LAST = frozenset("docs doc documentation readme wiki manual guide admin admins administrator sysadmin ops devops team owner"
                       " maintainer vault env environment variable variables vars keychain keyring keepass lastpass bitwarden manager"
                       " above below here elsewhere config configuration settings file secrets ci server runtime deployment"
                       " me us someone support".split())  # not there, later, it: `see you there`, `use it or lose it`


def _prose(v: str) -> bool:
    if _PROSE.fullmatch(v) is None:
        return False
    words = v.lower().split(" ")
    return words[0].rstrip(",;:") in _NOTE_FIRST and words[-1].rstrip(",;:") in _NOTE_LAST


def _password_ok(v: str, notes: bool = True) -> bool:
    """A password's literal: one a key's would be (``_literal_ok``: `MyPassword123`, as before), else judged as a URL's
    (``_tells_nothing``) however plain its words (`correcthorsebattery`, `two words here`), but not a label or message
    (``_LABEL``; one with blanks ending in "." or "!"; prose, ``_prose``, where ``notes``: a password's, not a secret key's
    words, Flask's `'this is my secret'`), nor an upper-case code (``_CODE``: E10421), nor a path. Under 6 characters none
    (the corpora's are `str`, `true`, `None`, `xxx`: a type, a flag, a placeholder)."""
    if len(v) < 6 or v.startswith("$") or _is_path(v):
        return False
    if " " not in v and _literal_ok(v):
        return True
    return not (_tells_nothing(v) or _LABEL.search(v) or _CODE.fullmatch(v) or " " in v and (v[-1] in ".!" or notes and _prose(v))
                or _SETTING.fullmatch(re.sub(r"[-_]", "", v)))


_CLAUSE = re.compile(r"[,;:] ")  # (``_QUOTED``'s words may end so)


def _named_value_ok(m: re.Match) -> bool:
    """A quoted literal after a secret's name (``_NAMED``): a password's as ``_password_ok``, a key's or token's (no blank
    in it) as ``_literal_ok``."""
    named = _NAMED.search(m.string, max(0, m.start() - 40), m.start())
    if named is None:
        return False
    v = m.group("v")
    if not v.isascii():  # another script's words are judged as English's beside a key's ASCII words (``_key_word``), a
        # password's too: prose after the key stays (`"Xk9... läuft ab"`), a word before it or between two goes with them
        # (`"ключ Xk9..."` as `"key Xk9..."`); with no key a label (`"Passwort ändern"`, `"пароль123456"`), as unquoted
        return _another_script_ok(m, v, named.group("n"))
    if _PASSWORD_NAME.fullmatch(named.group("n")) and not _action(m.string, named.start("n")):
        if _CLAUSE.search(v):  # words parted by a "," (`"Familia, Xk9... expira"`): a sentence, its key's words alone go
            return _key_words_span(m, v)
        return _read_prose_span(m, v) or _password_ok(v)
    if " " in v and _SECRET_KEY_NAME.fullmatch(named.group("n")):
        return _password_ok(v, notes=False)
    if " " in v:
        return _key_words_span(m, v)
    return len(v) >= 6 and _literal_ok(v)


# a key's words may end in prose (`Bearer Xk9... expires soon`, `Xk9... is the prod key`): plain words after the last key
# (after the reading's "."s: an NFD word's run, `pro\u0301d` read `.prod`), in any script (`Xk9... est expiré`, `... истёк`)
# a word's letters, its marks among them (Devanagari's `समाप्त`): runs of each, possessive (nested runs that backtrack
# try every split of a long word that fails)
_LETTERS = rf"(?:[^\W\d_]++|{_MARK}++)++"
_PLAIN_WORD = re.compile(rf"\.*{_LETTERS}(?:\.+{_LETTERS})*[,.;:!?]?")  # (`ист.ек`: NFD's `исте\u0308к` read)
_READ_WORD = re.compile(r"(?<!\S)\.+[^\W\d_]")  # a word the reading of its marks began with "."s (NFD's `.lauft`)
_SCHEMES = frozenset("bearer basic token digest apikey".split())  # HTTP's Authorization schemes


def _key_words_span(m: re.Match, v: str):
    """``_key_words_ok`` for the match's value ``v``: True, or the (start, end) of its key's words where prose follows them
    (`Bearer Xk9mP2qLz7WqR4tY expires soon`: the scheme and key go, the prose stays; it kept all before, and a snippet's
    every-form pass took the quotes and prose too). The key's words are an HTTP scheme's (``_SCHEMES``) and keys' literals
    only, 12+ characters together: `Use TokenManager2024 from now on` is a sentence."""
    words = list(re.finditer(r"\S+", v))
    k = len(words)
    while k > 0 and _PLAIN_WORD.fullmatch(words[k - 1].group()):
        k -= 1
    if 0 < k < len(words):
        head = [w.group() for w in words[:k]]
        keys = head[1:] if head[0].lower() in _SCHEMES else head
        if keys and not _TEMPLATE.search(v) and all(_key_word(w) for w in keys) and len("".join(keys)) >= 12:
            return m.start("v"), m.start("v") + words[k - 1].end()
    elif k and _key_words_ok(v):
        return True
    # prose before the key's words too (`use Xk9... login`, `Família, Xk9... expira`, `please use Xk9...`): they go alone
    # where each is a random literal's, not an identifier's (`Use TokenManager2024 from now on` is a sentence)
    i = 0
    while i < k and _PLAIN_WORD.fullmatch(words[i].group()):
        i += 1
    keys = [w.group() for w in words[i:k]]
    if 0 < i < k and not _TEMPLATE.search(v) and all(_key_word(w) and not _IDENTIFIER.fullmatch(w) for w in keys) and len(
            "".join(keys)) >= 12:
        return m.start("v") + words[i].start(), m.start("v") + words[k - 1].end()
    return False


# a name in a sentence: words (2+ lower-case letters, capitals before them), acronyms and numbers run together
# (`TokenManager2024`, `OAuth2Provider`, `MyPassword123`); a random key's lone lower-case letters are none (`Xk9mP2q...`)
_ID_PART = r"(?:[A-Z]*[a-z]{2,}|[A-Z][a-z]|[A-Z]{2,}(?![a-z])|[0-9]+)"
_IDENTIFIER = re.compile(rf"{_ID_PART}(?:[_.-]?{_ID_PART})*")


def _another_script_ok(m: re.Match, v: str, name: str):
    """A value ``v`` holding another script's letters under ``name``: its words as English's are (``_key_words_span``: the
    key's words where prose follows them, else the value whole where a key's ASCII words stand beside one plain word at most,
    `"ключ Xk9..."`); under a password's name not whole where a label's word is in it (a snippet's reading of
    `password = "Passwort123 ändern"`, the quotes its value's: `"Passwort123` looked a key's literal)."""
    ok = _key_words_span(m, v) if v == m.group("v") else _key_words_ok(v)
    return not (ok is True and _PASSWORD_NAME.fullmatch(name) and _LABEL.search(v)) and ok


def _read_prose_span(m: re.Match, v: str):
    """A password's value ``v`` of words: the (start, end) of its key's words where prose stands beside them
    (``_key_words_span``), as a token's are judged; else None (``_password_ok`` judges it whole). Read from NFD too
    (`Xk9... la\u0308uft ab` read `Xk9... .lauft ab`: NFC kept `<KEY> läuft ab`, NFD took it whole), and in ASCII
    (`"use Xk9... login"`: its `login` made it a label's, kept whole)."""
    if " " in v:
        span = _key_words_span(m, v)
        if isinstance(span, tuple):
            return span
    return None


def _key_words_ok(v: str) -> bool:
    """A key's or token's value of several words, taken whole (as YAML or configparser reads it): its keys' literals
    (``_key_word``: `Bearer Xk9mP2qLz7WqR4tY`, `Basic YW5u...==`, `Xk9mP2qLz7WqR4tY (prod)`) beside one plain word at most (a
    scheme's: Bearer, Basic); or words that are all keys' literals, 12+ characters together (a key split by a blank:
    `Xk9mP2qLz7 WqR4tY`). Kept: a template's reference or placeholder (GitHub Actions' `${{ secrets.GH_PAT_2 }}`, `{{ x }}`,
    `%(x)s`; a word in `<>`, `{}`, `[]` is no key: `<YOUR_KEY_2>`), two plain words or more (a sentence: `Use TokenManager2024 instead`), plain words alone (`token: see
    the docs`, `abc def ghi`, `Invalid token 42`, `expires in 3600 seconds`)."""
    words = v.split()
    if _TEMPLATE.search(v) or sum(w.isalpha() for w in words) > 1:
        return False
    if any(len(w) >= 12 and _key_word(w) for w in words):
        return True
    return len("".join(words)) >= 12 and all(_key_word(w) for w in words)


# a template's expression (GitHub Actions' and Jinja's, shell's `${X}`, Python's `%(x)s`): its words are a reference. Not
# `<...>`: the redaction's own `<KEY>` before a key's commented copy (`'<KEY>', //'0269...'`, a page's script) kept the copy
_TEMPLATE = re.compile(r"\$\{|\{\{|%\(\w+\)")


def _key_word(w: str) -> bool:
    """A word of a key's value that is a key's literal (``_literal_ok``), not a URL nor a placeholder's (`<X_2>`, `{x}`), in
    ASCII (another script's word with digits is a label's or a sentence's: `пароль123456`)."""
    return w.isascii() and "://" not in w and not set(w) & set("<>{}[]") and _literal_ok(w)


# a UI action's or a setting's name (`show_password: Mostrar`, a locale's label; Ansible's `update_password: on_create`):
# its plain word is no password (a random-looking one still is, as a key's)
_ACTION = re.compile(r"(?i)(?<![^\W_])(?:show|hide|toggle|reveal|reset|change|forgot|forgotten|update|edit|remember|save"
                     r"|require|ask|prompt|enable|disable|allow|use)[_.-]?\Z")


def _action(text: str, start: int) -> bool:
    """Does an action's word (``_ACTION``) end the name before the password's word at ``start``?"""
    return _ACTION.search(text, max(0, start - 10), start) is not None


# a secret key of words is a passphrase (Flask's `app.secret_key = "super secret key"`), judged as a password's
_SECRET_KEY_NAME = re.compile(r"(?i)secret_?key")


def _unquoted_ok(m: re.Match, v: str | None = None) -> bool:
    """An unquoted value ``v`` (``_UNQUOTED``, ``_ENV_MULTI``, ``_ENV_BLANK``, Tcl's ``set``; the match's ``v``): a password's as
    ``_password_ok`` (`DB_PASSWORD=letmein`, several words too) but not a dotted reference (Go's `password := cfg.Password`, YAML's
    `settings.admin.old`), a key's or token's as ``_literal_ok`` (no blank in it, a secret key's words aside); so is an action's
    (``_action``) and a name that is `pwd` or `oldpwd` whole (the shell's working directories, Go's `pwd := ...`)."""
    n, v = m.group("n"), m.group("v") if v is None else v
    if _CALL_VALUE.fullmatch(v) or _KEYWORD_VALUE.fullmatch(v):
        return False
    if " " in v and _QUOTED_WORDS.fullmatch(v):  # quoted words (a properties line's `"use Xk9... login"`): the quoted form
        return False  # took their key alone (this took the quotes and prose too) or kept a sentence
    if not v.isascii():  # another script's letters: a locale's label (`password: Пароль`); but a key's ASCII words before
        # prose in another script go (`token: Xk9... est expiré`, a password's too: `password: Xk9... für prod` was kept
        # whole), and a word before a key or between two goes with them (`token: ключ Xk9...`), as quoted
        return _another_script_ok(m, v, n)
    if (not _PASSWORD_NAME.fullmatch(n) or _DOTTED.fullmatch(v) or _SHELL_PWD.search(m.string, max(0, m.start("n") - 3), m.end("n"))
            or _action(m.string, m.start("n"))):
        if " " in v or "\t" in v:
            if _SECRET_KEY_NAME.fullmatch(n) is not None and _password_ok(v, notes=False):
                return True
            return _another_script_ok(m, v, n)
        return _literal_ok(v)
    return (v == m.group("v") and _read_prose_span(m, v)) or _password_ok(v)


# a call's expression, code under a config name (`token: unescape(RegExp.$1);`, `result.pass = actual.isSame(expected);`: the
# corpora's web pages read as YAML), not a literal; a value holding "(" otherwise is one (`ab;cd(ef,gh`)
# negated too (C's `pass = !strcmp( expected, found );`, Python's `not verify(...)`), or a ternary around a literal
# (`prod ? "..." : "";`: the quoted form takes the literal, ``_QUOTED``)
_CALL_VALUE = re.compile(r"(?:!|not[ \t]+)?[\w.$]+\(.*\)[;,]?|[!\w.$]+[ \t]*\?[ \t]*([\"'`]).*\1[ \t]*:.*"
                         r"|[!\w.$]+[ \t]*\?[ \t]*[\w.$]+(?:\([^()\r\n]*\))?[ \t]*:[ \t]*([\"'`]).*\2[;,]?"  # (``_QUOTED_ELSE``'s)
                         rf"|{_PY_CONDITIONAL}[ \t]+([\"'`]).*\3")
# a language's keyword literal ending its statement (C's `bool pass = false;`, `pass = NULL;`): no password's value
_KEYWORD_VALUE = re.compile(r"(?i)(?:true|false|null|nullptr|none|nil|undefined)[;,]?")
_CONTINUATION = re.compile(r"\\\r?\n[ \t]*")
_BARE_PASS = re.compile(r"(?i)[ \t]*passe?")
# a properties value's \uXXXX escape, read as Properties.load reads it (native2ascii's messages_ru.properties: `\u041f...`, Пароль)
_U_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})")


def _properties_ok(m: re.Match) -> bool:
    """A properties file's value (``_PROPERTIES``), its continued lines joined, as ``_unquoted_ok`` judges it; not after
    a key that is the word pass alone and a blank (a ledger snippet's prose is searched so: `Pass the remainder of our
    hateful days?`)."""
    if not m.string[m.end("n"):m.start("v")].strip(" \t") and _BARE_PASS.fullmatch(m.string, m.start(), m.end("n")):
        return False
    return _unquoted_ok(m, _U_ESCAPE.sub(lambda e: chr(int(e.group(1), 16)), _CONTINUATION.sub("", m.group("v")).rstrip()))


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
# the shell's working directories, PWD and OLDPWD, whole names (`DB_PWD` is a password's)
_SHELL_PWD = re.compile(r"(?i)(?<![\w.-])(?:old)?pwd\Z")


_ONE_ARGUMENT = re.compile(r"[ \t]*\)")


def _setter_ok(m: re.Match) -> bool:
    """A setter's literal (``_CALL``): a password's, its one argument (`setPassword("letmein")`), as ``_password_ok``;
    else as ``_literal_ok``."""
    if _PASSWORD_NAME.fullmatch(m.group("n")) and _ONE_ARGUMENT.match(m.string, m.end()):
        return _password_ok(m.group("v"))
    return _value_ok(m)


def _url_ok(m: re.Match) -> bool:
    """A URL's password as urlsplit reads it, after a scheme, however ordinary the word
    (``app:hunter@``), unless it tells nothing (``_tells_nothing``: ``user:password@``, Go's test
    ``My%20User:My%20Pass@``, ``guest:guest@``, ``gopher:go@``, ``${DB_PASS}``, ``$PASSWORD``, ``%s``)."""
    s = m.start()
    return s > 0 and m.string[s - 1].isascii() and m.string[s - 1].isalnum() and not _tells_nothing(m.group("v"), m.group("u"))


def _tells_nothing(v: str, user: str = "") -> bool:
    """A password that hides nothing: a placeholder (``${DB_PASS}``, ``<password>``, ``%s``,
    ``****``), a word saying password (``myPassword``, ``My%20Pass``), the user's own name (a
    default: ``guest:guest``), two characters or fewer (a test's ``gopher:go``)."""
    if _URL_PLACEHOLDER.search(v):
        return True
    word, user = unquote(v).lower(), unquote(user).lower()
    # anonymous FTP's custom: `anonymous:guest@` (another password there, anonymous:abc@, is still one)
    return len(word) <= 2 or word == user or (user, word) == ("anonymous", "guest") or bool(_PASSWORD_WORD.fullmatch(re.sub(r"[\s_./-]", "", word)))


def _param_ok(m: re.Match) -> bool:
    """A query's or connection string's password (``_QUERY``, ``_CONN``) where its line holds a URL
    or another connection key (not ``i=0;pwd=cwd;`` in code), and it tells something."""
    return _CONN_CONTEXT.search(_line_of(m)) is not None and not _tells_nothing(m.group("v"))


def _line_of(m: re.Match) -> str:
    """The line (ended by "\n", "\r\n" or a lone "\r") holding the match."""
    line_start = max(m.string.rfind("\n", 0, m.start()), m.string.rfind("\r", 0, m.start())) + 1
    ends = [e for e in (m.string.find("\n", m.end()), m.string.find("\r", m.end())) if e >= 0]
    return m.string[line_start:min(ends, default=len(m.string))]


_WIDE_PLACEHOLDER = re.compile(r"\$\{|\{\{|%\(\w+\)|\{[A-Za-z_]{3,}\}|<[A-Za-z_ -]{3,}>")  # ${X}, {{ x }}, %(x)s, {password}, <your key>


# an assertion's arguments are values, the first the one expected (assertEquals("password", "Password1"): no name)
_ASSERTION = re.compile(r"(?i)(?:assert|expect)\w*[ \t]*\Z")


def _wide_ok(m: re.Match) -> bool:
    """A literal of any characters (``_PAIR``): one of ``_QCHARS`` as ``_value_ok`` judges it; another with
    upper and lower case and a digit, no placeholder (``$X`` starting it, ``${X}``, ``{{ x }}``, ``{password}``) nor blank at its ends.
    Not an assertion's (``_ASSERTION``)."""
    v = m.group("v")
    if _ASSERTION.search(m.string, max(0, m.start() - 40), m.start()):
        return False
    if re.fullmatch(f"{_QCHARS}+", v):
        return _value_ok(m)
    # a salt's blanks are few (one of its ~90 characters); a message's words are not (`"Password (min 8)"`)
    return (v == v.strip() and not v.startswith("$") and not _WIDE_PLACEHOLDER.search(v) and 16 * v.count(" ") <= len(v)
            and any(c.isupper() for c in v) and any(c.islower() for c in v) and any(c.isdigit() for c in v))


def _command_before(m: re.Match, cmd: re.Pattern) -> bool:
    """Does ``cmd`` stand before the option, within 500 characters, on its line and in its command
    (no "|", ";" or "&" between)?"""
    lo = max(0, m.start() - 502)
    lo = max([lo] + [m.string.rfind(c, lo, m.start()) + 1 for c in "\r\n|;&"])
    return cmd.search(m.string, lo, m.start()) is not None


def _curl_ok(m: re.Match) -> bool:
    return _command_before(m, _CURL_CMD) and _auth_ok(m)


def _mysql_ok(m: re.Match) -> bool:
    return _command_before(m, _MYSQL_CMD) and _auth_ok(m)


def _auth_ok(m: re.Match) -> bool:
    return not _tells_nothing(m.group("v"), m.group("u") if "u" in m.re.groupindex else "")


def _xml_ok(m: re.Match) -> bool:
    """An element's text that is a literal (``_value_ok``; a password's element's as ``_password_ok``, as a quoted
    one's: Maven's `<password>letmein</password>`), not a property reference (``${db.password}``); Maven's
    master-encrypted password (``{base64}``) is one: settings-security.xml's master, often beside it, decrypts it."""
    v = m.group("v")
    if _MAVEN_ENCRYPTED.fullmatch(v):
        return _literal_ok(v[1:-1])
    if _URL_PLACEHOLDER.search(v):
        return False
    return _password_ok(v) if _PASSWORD_END.search(m.group("n")) else _value_ok(m)


_MAVEN_ENCRYPTED = re.compile(r"\{[A-Za-z0-9+/]{8,}={0,2}\}")
# a name ending in a password's word (db.password, smtpPass, PWD), not a key's or token's
_PASSWORD_END = re.compile(rf"(?i)(?:{_PW_WORDS}|(?<![^\W_])passe?)\Z")
# settings-security.xml's master password (it decrypts settings.xml's `{...}` passwords): its braces' text, a
# comment beside them allowed (Maven's "{...} reset on 2024-01-01"); searched where the scan finds "<master>" (a
# `"<master>" in text` over every text cost 4 ms of the sample's 48 in the rewrite)
_MASTER = re.compile(rf"<master>[^<>{{}}\r\n]{{0,200}}(?P<v>{_MAVEN_ENCRYPTED.pattern})[^<>{{}}\r\n]{{0,200}}</master>")


def _master_ok(m: re.Match) -> bool:
    return _literal_ok(m.group("v")[1:-1])


def _block_ok(m: re.Match) -> bool:
    """A YAML block's lines (``_YAML_BLOCK``), joined, as ``_literal_ok`` judges a value (a password's as
    ``_password_ok``, as a quoted one's: `password: |` then `correcthorsebattery`)."""
    v = re.sub(r"\s+", "", m.group("v"))
    return len(v) >= 6 and (_password_ok(v) if _PASSWORD_NAME.fullmatch(m.group("n")) else _literal_ok(v))


def _libpq_ok(m: re.Match) -> bool:
    """libpq's password (``_LIBPQ``) where its line holds another of libpq's keys, and it tells something."""
    return _LIBPQ_CONTEXT.search(_line_of(m)) is not None and not _tells_nothing(m.group("v"))


_MAIL_SCHEME = re.compile(r"(?i)(?<![\w+.-])(?:smtps?|imaps?|pop3?s?|submission)\Z")


def _url_slash_ok(m: re.Match) -> bool:
    """As ``_url_ok``, where the part before the first "/", "?" or "#" is no port (``host:8080/a@b``,
    ``host:port/...``) and the "@" starts no path's part (``/users/@me``)."""
    v = m.group("v")
    first = re.split(r"[/?#]", v, maxsplit=1)[0]
    if "@" in m.group("u") and not _MAIL_SCHEME.search(m.string, max(0, m.start() - 12), m.start()):
        return False
    return not first.isdigit() and first.lower() != "port" and not v.endswith("/") and _url_ok(m)


def _token_ok(m: re.Match) -> bool:
    return any(c.isdigit() for c in m.group())  # random, not a word (sk-loading-spinner-...)


# Where a secret can be, found in one compiled pass over the code points (``_candidates``): the
# regexes run only on a text holding "PRIVATE KEY" or a provider's prefix, and the password
# patterns only on the lines where a secret's name is followed by an operator. A case-insensitive
# search for the names, a regex scan for the operators of every string and fifteen substring
# tests for the prefixes took 3/4 of the code filter's time (39 MB/s, the code rules alone 147).
# Which forms can match, told by the names the scan found: a form is searched only on a text holding its own
# (a password's name for the query, connection and libpq keys; a URL's user-info; auth's pair; USERPWD; curl; mysql;
# a name before a call's "(", a setter's; a quoted name before a ",", a call's next argument)
_HAS_TOKEN, _HAS_PEM, _HAS_CURL, _HAS_MYSQL, _HAS_PASS, _HAS_URL, _HAS_AUTH, _HAS_USERPWD = 1, 2, 4, 8, 16, 32, 64, 128
_HAS_SETTER, _HAS_ARGUMENT, _HAS_MASTER = 256, 512, 1024
_HAS_LOOK_ALIKE, _HAS_FOLD, _FOLD = 2048, 4096, 65  # a word mixing Latin letters and look-alikes; a fullwidth letter (``_look_alikes``)
_LOOK = 97  # a look-alike's value in ``_USTARTS``: its Latin letter's, lower case (97 to 122)
# a zero-width character beside an ASCII letter, digit, "_" or a look-alike (`pass\u200bword`); a fullwidth letter anywhere (a value's: read as
# ASCII where the scan found a secret's name, ``_look_alikes``)
_HAS_ZERO_WIDTH, _ZERO_WIDTH, _HAS_WIDE = 8192, 66, 16384
# a fullwidth colon or equals sign after a secret's name (`password\uff1a ...`: read as ":" and "=", ``_look_alikes``); an invisible
# character beside a name's in a word that is no name before an operator nor a token's length (`API\u200c\u0647\u0627`: read only
# where the text holds a secret's name, for its value)
_HAS_WIDE_OP, _NEAR_INVISIBLE = 32768, 65536
_HAS_ACCENTED = 131072  # a secret's name found with a precomposed Latin letter in it (`sécret = ...`: ``_read_accented_names``)


@njit
def _fold(c):
    """``c`` as the case-insensitive name regex sees it: ASCII lower case; the Kelvin sign is k
    and the long s is s (``(?i)`` matches them), any other non-ASCII character 0."""
    if 65 <= c <= 90:
        return c + 32
    if c < 128:
        return c
    if c < 0x180:  # a precomposed Latin letter's base letter (``_ACCENTED``), ſ's s, else 0
        return _FOLD_BASE[c]
    return 107 if c == 0x212A else 0


@njit
def _row_at(codes, j, rows, r):
    """Does the word of ``_ROWS``' row ``r`` stand where its pair ends at ``j`` (case folded where the row says)?"""
    s, length, fold = j + rows[r, _OFF], rows[r, _LEN], rows[r, _FOLD_CASE]  # (indexed in place, as ``_unicode_name``)
    if s < 0 or s + length > len(codes):
        return False
    for i in range(length):
        c = codes[s + i]
        if (_fold(c) if fold else c) != rows[r, _CHARS + i]:
            return False
    return True


@njit(inline="always")
def _past_quote_and_blanks(codes, e):
    """(the position after a quote at ``e`` and the blanks after it, whether the quote was there)"""
    n = len(codes)
    quoted = e < n and (codes[e] == 34 or codes[e] == 39)
    if quoted:
        e += 1
    while e < n and (codes[e] == 32 or codes[e] == 9):
        e += 1
    return e, quoted


@njit
def _assigned(codes, e, found):
    """Is a name ending at ``e`` followed (after a quote and blanks) by an operator the password
    patterns take (``:``, ``=``, ``>``, ``?=``, ``+=``) or by a line's end, \n or \r\n (the operator on the next line);
    unquoted by a call's "(" (a setter), quoted by a "," (a call's next argument)?"""
    n = len(codes)
    e, quoted = _past_quote_and_blanks(codes, e)
    if e >= n:
        return False
    c = codes[e]
    if (c == 63 or c == 43) and e + 1 < n and codes[e + 1] == 61:  # Make's ?= and +=
        return True
    if quoted and c == 44:
        found[0] |= _HAS_ARGUMENT
        return True
    if not quoted and c == 40:
        found[0] |= _HAS_SETTER
        return True
    if c == 0xFF1A or c == 0xFF1D:  # a fullwidth colon or equals sign (a CJK keyboard's)
        found[0] |= _HAS_WIDE_OP
        return True
    return c == 58 or c == 61 or c == 62 or c == 10 or c == 13


@njit
def _row_follows(codes, e, follow, found):
    """Does what a row of ``_ROWS`` asks for follow its word's end ``e``: nothing (_ANY), an operator (_OPERATOR:
    ``_assigned``), or (_COMMAND) up to six lower-case letters and a blank (`mysql `, `mysqldump `)?"""
    if follow == _ANY:
        return True
    if follow == _OPERATOR:
        return _assigned(codes, e, found)
    k = e
    while k < len(codes) and k < e + 6 and 97 <= codes[k] <= 122:
        k += 1
    return k < len(codes) and (codes[k] == 32 or codes[k] == 9)


@njit
def _pair_row(codes, j, rows, first, end, found):
    """The first of the rows [first, end) of ``_ROWS`` whose word stands where its pair ends at ``j``, what it asks for after
    it too; -1 none. (A call, not the scan's own loop: there it made the scan of a text of other non-ASCII letters 0.85x.)"""
    for r in range(first, end):
        if _row_at(codes, j, rows, r) and _row_follows(codes, j + rows[r, _OFF] + rows[r, _LEN], rows[r, _FOLLOW], found):
            return r
    return -1


@njit
def _user_info(codes, j):
    """Does "://" start at ``j`` with an "@" before the URL's next blank, quote or ``<>\\``
    (as ``_URL`` and ``_URL_SLASH`` can match: ``_URL_SLASH``'s user 64 + 1 + 200, ":", its password 200 + 1 + 200;
    ``_URL``'s 200 + 1 + 200 only, as this looked: a slash-holding password's "@" past it was lost)?"""
    n = len(codes)
    if j + 2 >= n or codes[j + 1] != 47 or codes[j + 2] != 47:
        return False
    for k in range(j + 3, min(n, j + 3 + 265 + 1 + 401 + 1)):
        c = codes[k]
        if c == 64:
            return True
        if (c == 32 or c == 9 or c == 10 or c == 13 or c == 11 or c == 12
                or c == 34 or c == 39 or c == 96 or c == 60 or c == 62 or c == 92):
            return False
    return False


@njit(inline="always")
def _ufold(c):
    """``c`` in lower case for the non-ASCII names (``_UNAMES``): ASCII, Latin-1 (Ñ), Cyrillic (П), Ł and Ş; and as
    ``(?i)`` reads it: the long s is s (contraſeña), the dotted and dotless I are i (şİfre), the Kelvin sign k."""
    if 65 <= c <= 90 or (0xC0 <= c <= 0xDE and c != 0xD7) or 0x410 <= c <= 0x42F:
        return c + 32
    if c == 0x141 or c == 0x15E:
        return c + 1
    if c == 0x17F or c == 0x130 or c == 0x131 or c == 0x212A:
        return 115 if c == 0x17F else (107 if c == 0x212A else 105)
    return c


@njit(inline="always")
def _unicode_name(codes, j, unames, k, found):
    """Does the non-ASCII name of ``_UNAMES``' row ``k`` (the one whose first non-ASCII character is at ``j``) stand
    around ``j``, followed by an operator (``_assigned``)?"""
    o, length = unames[k, 0], unames[k, 1]  # indexed in place: a row fetched as an array is reference-counted
    s = j - o
    if s < 0 or s + length > len(codes):
        return False
    for i in range(length):
        if _ufold(codes[s + i]) != unames[k, 2 + i]:
            return False
    return _assigned(codes, s + length, found)


@njit(inline="always")
def _word_ascii(c):
    return 48 <= c <= 57 or 65 <= (c | 32) - 32 <= 90 or c == 95


@njit(inline="always")
def _look_alike_before(codes, j, ustarts):
    """Is the character before ``j`` a look-alike, a zero-width one or a name's "_", ".", "-" or digit (a name is 3+ long)?"""
    if j == 0:
        return False
    a = codes[j - 1]
    if a < 128:
        return a == 95 or a == 46 or a == 45 or 48 <= a <= 57
    return a < len(ustarts) and (ustarts[a] >= _LOOK or ustarts[a] == _ZERO_WIDTH)


@njit(inline="always")
def _op_follows(codes, e):
    """Does an operator ``_assigned`` takes, not a line's end, follow ``e`` (past a quote and blanks)? (No flags set.)"""
    e = _past_quote_and_blanks(codes, e)[0]
    if e >= len(codes):
        return False
    c = codes[e]
    return c == 58 or c == 61 or c == 62 or c == 40 or c == 44 or c == 63 or c == 43 or c == 0xFF1A or c == 0xFF1D


@njit(inline="always")
def _is_tail(tail, got, tails):
    """Are the three characters read (``got``) a secret's name's last three (``tails``)?"""
    if got < 3:
        return False
    for t in tails:
        if t == tail:
            return True
    return False


@njit
def _after_set(codes, s):
    """Does Tcl's `set` (then blanks and a namespace's "::") stand before ``s`` (`set pass\u200bword "..."`: no operator)?"""
    k = s
    while k > 0 and codes[k - 1] == 58:
        k -= 1
    if k == 0 or not (codes[k - 1] == 32 or codes[k - 1] == 9):
        return False
    while k > 0 and (codes[k - 1] == 32 or codes[k - 1] == 9):
        k -= 1
    return k >= 3 and (codes[k - 3] | 32) == 115 and (codes[k - 2] | 32) == 101 and (codes[k - 1] | 32) == 116 and (
        k == 3 or not _word_ascii(codes[k - 4]))


@njit
def _token_run(codes, s, e):
    """Can the run [s, e) be a token's (16+ characters, a digit among them: ``_token_ok``)?"""
    if e - s < 16:
        return False
    for k in range(s, e):
        if 48 <= codes[k] <= 57:
            return True
    return False


@njit
def _name_tail_run(codes, s, e, ustarts, tails):
    """Does the run [s, e) end, its invisible characters aside and read as Latin, as a secret's name can (``tails``, as
    ``_look_alikes_only``)?"""
    k, tail, got = e - 1, 0, 0
    while k >= s and got < 3:
        c = codes[k]
        k -= 1
        if c >= 128:
            u = ustarts[c] if c < len(ustarts) else 0
            if u == _ZERO_WIDTH:
                continue
            c = u  # a look-alike's Latin letter, lower case
        elif 65 <= c <= 90:
            c += 32
        tail, got = tail + (c << (7 * got)), got + 1
    return _is_tail(tail, got, tails)


@njit(inline="always")
def _name_or_invisible(c, ustarts):
    """Is ``c`` an ASCII letter, digit or "_", a look-alike or an invisible character (``_INVISIBLES``): a name's, read?"""
    return _word_ascii(c) or (128 <= c < len(ustarts) and (ustarts[c] >= _LOOK or ustarts[c] == _ZERO_WIDTH))


@njit(cache=True, nogil=True)
def _read_invisible_runs(codes, ustarts):
    """``codes`` (a copy) with each run of a name's characters and invisible ones (``_name_or_invisible``) holding both read
    without the invisible ones, as many "." before it (`pass\u200bword` -> `.password`; `AKIA\u00ad...` -> `.AKIA...`: a
    token's start is no word's middle, as "_" made it; a token's match is widened back over them, redact.py's ``_sub_read``),
    "-" where a "-" stands before the run (a token's part), and whether any was; a run of invisible ones alone (an emoji's ZWJ,
    Persian's ZWNJ between its own letters) as it is. Linear: a run is read once, from its first invisible character."""
    n = len(codes)
    out = codes.astype(np.uint32)
    changed = False
    j = 0
    while j < n:
        c = codes[j]
        if not (128 <= c < len(ustarts) and ustarts[c] == _ZERO_WIDTH):
            j += 1
            continue
        s = j
        while s > 0 and _name_or_invisible(codes[s - 1], ustarts):  # name characters only: an invisible one started a run
            s -= 1
        e, k = j, 0
        while e < n and _name_or_invisible(codes[e], ustarts):
            if 128 <= codes[e] < len(ustarts) and ustarts[codes[e]] == _ZERO_WIDTH:
                k += 1
            e += 1
        if e - s > k:
            w = s + k
            # "-" after a "-" (a token's part: `sk-proj-ab\u200bcd...`, `glpat-...`: a "." there ended the token; a name's
            # prefix takes either)
            out[s:w] = 45 if s > 0 and codes[s - 1] == 45 else 46
            for i in range(s, e):
                c = codes[i]
                if not (128 <= c < len(ustarts) and ustarts[c] == _ZERO_WIDTH):
                    out[w] = c
                    w += 1
            changed = True
        j = e
    return out, changed


@njit
def _look_alikes_only(codes, j, ustarts, tails):
    """Is the word ending at ``j`` look-alikes only, with a name's "_", ".", "-", digits and zero-width characters (not
    Russian's `задача:`, a word of its own letters: each such before a ":" sent a Cyrillic text to the reading's regex),
    its Latin reading's last three characters a secret's name's (``tails``: not Russian's `с (`, `а:`, `ОТВЕТ:`, each of
    which sent the text to the reading's regex, 541 -> 12 MB/s)?"""
    k, tail, got = j, 0, 0
    while k >= 0:
        c = codes[k]
        k -= 1
        if c < 128:
            if c == 95 or c == 46 or c == 45 or 48 <= c <= 57:
                if got < 3:
                    tail, got = tail + (c << (7 * got)), got + 1
                continue
            if _word_ascii(c):  # a Latin letter: the mixed word's test
                return False
            break  # a blank, quote or line's start before it
        u = ustarts[c] if c < len(ustarts) else 0
        if u == _ZERO_WIDTH:
            continue
        if u < _LOOK:
            return False
        if got < 3:
            tail, got = tail + (u << (7 * got)), got + 1
    return _is_tail(tail, got, tails)


@njit
def _latin(codes, k):
    return 0 <= k < len(codes) and 65 <= (codes[k] | 32) - 32 <= 90


@njit
def _joins_latin(codes, j, step):
    """Is the character beside ``j`` (``step``: -1 before, 1 after) a Latin letter, or "_", "." or "-" with one beyond it
    (`DB_РАЅЅ`, `db.раѕѕ`: a name's parts)?"""
    k = j + step
    if _latin(codes, k):
        return True
    return 0 <= k < len(codes) and (codes[k] == 95 or codes[k] == 46 or codes[k] == 45) and (
        _latin(codes, k + step) or 48 <= (codes[k + step] if 0 <= k + step < len(codes) else 0) <= 57)


@njit(cache=True, nogil=True)
def _candidates(codes, pairs, words, unames, ustarts):
    """(flags: _HAS_TOKEN if a provider's prefix is in the text, _HAS_PEM if "PRIVATE KEY" is;
    where each secret's name followed by an operator ends, and each URL with a user-info starts). A word is looked for only where
    a rare pair of its characters stands (``pairs``: sw, pw, ok, ey, cr, ss in either case; AK, gh,
    xo, k_, yJ, IV, np, py, ...), the characters around it compared there."""
    rows, first, tails = words
    n = len(codes)
    flags = 0
    found = np.zeros(1, np.int64)  # what ``_assigned`` saw after the names: a setter's "(", an argument's ","
    names = []
    prev = 0
    run_end = 0  # where the last invisible character's run ended
    tok_end, tok_run = 0, False  # where the last run's "-"-joined token extent ended, and whether it can be a token's
    scratch = np.zeros(1, np.int64)
    accented = False
    for j in range(n):
        c = codes[j]
        if ustarts is None:  # an ASCII text's (``candidates``): numba drops the branch below, ~5 of the ~7 CPU-s of its compile
            pass
        elif c >= 128:  # a non-ASCII name's character (another character costs a lookup)
            u = ustarts[c] if c < len(ustarts) else (_FOLD if 0x1D400 <= c <= 0x1D7FF else 0)  # a mathematical letter's: _FOLD
            if u < 0:  # a precomposed Latin letter (é, ä): its base letter (-u + 96) to the pairs, as ``_fold`` to the names
                accented = True  # (`sécret`, `tökén`: NFD's marks are read away, ``_read_invisible_runs``)
            elif u:  # (a test a character: each more made a Cyrillic text's scan 0.84x)
                if u >= _LOOK:  # a Latin letter's look-alike beside a Latin letter, or a name's "_", "." or "-" after one
                    b = codes[j + 1] if j + 1 < n else 0
                    if 65 <= (prev | 32) - 32 <= 90 or 65 <= (b | 32) - 32 <= 90:
                        flags |= _HAS_LOOK_ALIKE
                    elif ((prev == 95 or prev == 46 or prev == 45) and _joins_latin(codes, j, -1)) or (
                            (b == 95 or b == 46 or b == 45) and _joins_latin(codes, j, 1)):
                        flags |= _HAS_LOOK_ALIKE
                    elif b < 128 and b != 10 and b != 13 and not _word_ascii(b) and _look_alike_before(codes, j, ustarts) and _assigned(
                            codes, j + 1, found) and _look_alikes_only(codes, j, ustarts, tails):  # (cheap tests first: a call
                        # at each look-alike made a Russian text's scan 0.35x)
                        flags |= _HAS_LOOK_ALIKE  # a word of look-alikes only before an operator (`раѕѕ = ...`): ``_look_alikes``
                elif u == _FOLD:  # a fullwidth or mathematical Latin letter (Python's NFKC reads it as one) ending a name
                    before = found[0]
                    if _assigned(codes, j + 1, found):  # before its operator (not a CJK text's ＯＫ: 600 -> 53 MB/s read)
                        if found[0] & _HAS_WIDE_OP and not before & _HAS_WIDE_OP:
                            found[0] = before  # a CJK text's ＵＲＬ： (its own colon): no name's
                        else:
                            flags |= _HAS_FOLD
                    flags |= _HAS_WIDE
                elif u == _ZERO_WIDTH:  # beside an ASCII letter, digit or "_" or a look-alike: inside a name (`pass\u200bword`,
                    a = codes[j - 1] if j > 0 else 0  # `р\u200bаѕѕword`), a BOM before one
                    b = codes[j + 1] if j + 1 < n else 0
                    if j >= run_end and (_word_ascii(a) or _word_ascii(b) or (a < len(ustarts) and ustarts[a] >= _LOOK) or (
                            b < len(ustarts) and ustarts[b] >= _LOOK)):  # (each run judged once: a tonal text's marks)
                        # a name before its operator or a token's length (16+): read; else only for a value (``_look_alikes``):
                        # Persian's `API\u200c\u0647\u0627`, 1 word in 20, sent the UDHR's Persian through the reading at 30 MB/s
                        s, e = j, j + 1
                        while s > 0 and _name_or_invisible(codes[s - 1], ustarts):
                            s -= 1
                        while e < n and _name_or_invisible(codes[e], ustarts):
                            e += 1
                        run_end = e
                        # (a line's end: the bench's `API\u200c` before a blank line sent it all; a name's tail: a Vietnamese
                        # word's combining marks before a ":" sent the UDHR's, 420 -> 74 MB/s)
                        scratch[0] = 0  # (a word's "(" or "," after it is no setter's nor argument's)
                        if j >= tok_end:  # a token's parts between "-"s (`xoxb-12345\u200b67890-abcde...`): judged once
                            ts, tok_end = s, e
                            while ts > 0 and (codes[ts - 1] == 45 or _name_or_invisible(codes[ts - 1], ustarts)):
                                ts -= 1
                            while tok_end < n and (codes[tok_end] == 45 or _name_or_invisible(codes[tok_end], ustarts)):
                                tok_end += 1
                            tok_run = _token_run(codes, ts, tok_end)
                        if tok_run or ((_op_follows(codes, e) and _assigned(codes, e, scratch) or _after_set(codes, s)) and _name_tail_run(
                                codes, s, e, ustarts, tails)):  # (cheap tests first: a call a run made Vietnamese's scan 0.25x)
                            flags |= _HAS_ZERO_WIDTH
                            found[0] |= scratch[0] & _HAS_WIDE_OP
                        else:
                            flags |= _NEAR_INVISIBLE
                elif _unicode_name(codes, j, unames, u - 1, found):
                    names.append(j)
            c = 96 - u if u < 0 else (107 if c == 0x212A else (115 if c == 0x17F else 0))  # (?i) takes K and ſ for k and s
        t = pairs[prev, c]
        prev = c
        if t == 0:
            continue
        if t >= _ASCII_ROW:  # an ASCII name of ``_ANAMES_LIST`` (wachtwoord, haslo, ...): first, its pairs are common in code
            if _unicode_name(codes, j, unames, t - _ASCII_ROW + _N_UNICODE, found):
                names.append(j)
            continue
        if t == 18:  # j: the "/" after the ":"
            if _user_info(codes, j - 1):
                names.append(j)
                flags |= _HAS_URL
            continue
        r = _pair_row(codes, j, rows, first[t], first[t + 1], found)  # the pair's words (``_ROWS``): the one that stands there
        if r >= 0:
            flags |= rows[r, _FLAG]
            if rows[r, _IS_NAME]:
                names.append(j)
    if ustarts is not None:  # (the ASCII version has no precomposed letter: numba drops this as the branch above)
        if accented:  # a name found with a precomposed letter in it: read with its base letters (``_read_accented_names``)
            for j in names:
                for k in range(max(0, j - 12), min(n, j + 8)):
                    if 128 <= codes[k] < len(ustarts) and ustarts[codes[k]] < 0:
                        flags |= _HAS_ACCENTED
    return flags | found[0], names


def _pairs() -> np.ndarray:
    """The test to run where a pair of characters stands (prev, char): 0 none."""
    pairs = np.zeros((128, 128), np.int8)
    for t, pair in enumerate(("sw", "pw", "ok", "ey", "cr"), 1):  # a name's, either case
        for a in {pair[0], pair[0].upper()}:
            for b in {pair[1], pair[1].upper()}:
                pairs[ord(a), ord(b)] = t
    for t, group in enumerate((("AK", "AS", "AI"), ("gh",), ("b_",), ("lp",), ("xo",), ("k_",), ("k-",), ("yJ",), ("IV",), ("np",), ("py",)), 6):
        for pair in group:
            pairs[ord(pair[0]), ord(pair[1])] = t
    for a in "sS":  # pass's last two letters
        for b in "sS":
            pairs[ord(a), ord(b)] = 17
    pairs[ord(":"), ord("/")] = 18  # a URL's "://"
    pairs[ord("="), ord("(")], pairs[ord(" "), ord("(")], pairs[ord("h"), ord("(")] = 19, 20, 21  # auth=(, auth = (, BasicAuth(
    for a in "tT":  # _SALT's, _salt's last letter and its quote
        for b in "'\"":
            pairs[ord(a), ord(b)] = 22
    pairs[ord("r"), ord("l")], pairs[ord("q"), ord("l")] = 23, 24  # curl, mysql
    for a in "nN":  # kennwort's nw, senha's nh, either case
        for b, t in (("w", 25), ("h", 26)):
            pairs[ord(a), ord(b)] = pairs[ord(a), ord(b.upper())] = t
    pairs[ord("r"), ord(">")] = 27  # <master>
    for k, (w, pair) in enumerate(_ANAMES_LIST):  # an ASCII name of ``_ANAMES``: its row, after _ASCII_ROW
        for a in {pair[0], pair[0].upper()}:
            for b in {pair[1], pair[1].upper()}:
                assert pairs[ord(a), ord(b)] == 0, pair
                pairs[ord(a), ord(b)] = _ASCII_ROW + k
    return pairs


# The ASCII names of ``_PW_WORDS`` that no pair above finds, each with the pair that sends the scan to it (one pair a
# name: the rarest in code of the name's own), looked for as the non-ASCII ones are (``_unicode_name``, rows of ``_UNAMES``
# after theirs: a row's "offset" is the pair's second character's)
_ANAMES_LIST = (("wachtwoord", "tw"), ("contrasena", "na"), ("contrasenya", "ny"), ("haslo", "ha"), ("heslo", "sl"),
                ("sifre", "fr"), ("salasana", "sa"), ("losenord", "rd"), ("adgangskode", "dg"), ("jelszo", "sz"), ("lozinka", "oz"))
_ASCII_ROW = 40  # a pair's test from 40 on: an ASCII name's row
_PAIRS = _pairs()
# The words the scan looks for where a pair of ``_pairs`` stands, a row each (a data table looked up in one loop: as ~40
# compiled comparisons they were most of the scan's cold compile, ~10 CPU-s a signature): its pair's test; where it starts,
# from the pair's second character; case folded or not; what must follow it (``_row_follows``); the flag it sets; whether
# its place is a name's (``names``). A pair's rows are tried in order, the first found is taken.
_ANY, _OPERATOR, _COMMAND = 0, 1, 2
_WORD_ROWS = (
    (1, "password", -4, True, _OPERATOR, _HAS_PASS, True), (1, "passwort", -4, True, _OPERATOR, _HAS_PASS, True),
    (1, "passwd", -4, True, _OPERATOR, _HAS_PASS, True),
    (2, "pwd", -1, True, _OPERATOR, _HAS_PASS, True), (2, "USERPWD", -5, False, _ANY, _HAS_USERPWD, True),  # then its "," (``_USERPWD``)
    (3, "token", -2, True, _OPERATOR, 0, True),
    (4, "key", -2, True, _OPERATOR, 0, True), (4, "keybase", -2, True, _OPERATOR, 0, True), (4, "key_base", -2, True, _OPERATOR, 0, True),
    (5, "secret", -3, True, _OPERATOR, 0, True),
    (6, "AKIA", -1, False, _ANY, _HAS_TOKEN, False), (6, "ASIA", -1, False, _ANY, _HAS_TOKEN, False), (6, "AIza", -1, False, _ANY, _HAS_TOKEN, False),
    *((7, f"gh{c}_", -1, False, _ANY, _HAS_TOKEN, False) for c in "pousr"),
    (8, "github_pat_", -6, False, _ANY, _HAS_TOKEN, False), (9, "glpat-", -2, False, _ANY, _HAS_TOKEN, False),
    (10, "xox", -1, False, _ANY, _HAS_TOKEN, False), (11, "k_live_", -1, False, _ANY, _HAS_TOKEN, False),
    (11, "k_test_", -1, False, _ANY, _HAS_TOKEN, False), (12, "sk-", -2, False, _ANY, _HAS_TOKEN, False),
    (13, "eyJ", -2, False, _ANY, _HAS_TOKEN, False), (14, "PRIVATE KEY", -3, False, _ANY, _HAS_PEM, False),
    (15, "npm_", -1, False, _ANY, _HAS_TOKEN, False), (16, "pypi-", -1, False, _ANY, _HAS_TOKEN, False),
    (17, "pass", -3, True, _OPERATOR, _HAS_PASS, True), (17, "passe", -3, True, _OPERATOR, _HAS_PASS, True),  # (the regex checks what stands before)
    (17, "passord", -3, True, _OPERATOR, _HAS_PASS, True), (17, "passphrase", -3, True, _OPERATOR, _HAS_PASS, True),
    # HTTP basic auth's pair: auth=(, auth = (, BasicAuth(
    (19, "auth=(", -5, False, _ANY, _HAS_AUTH, True), (20, "auth = (", -7, False, _ANY, _HAS_AUTH, True),
    (21, "BasicAuth(", -9, False, _ANY, _HAS_AUTH, True),
    (22, "_salt", -5, True, _OPERATOR, 0, True),  # wp-config's AUTH_SALT', auth_salt", ...
    (23, "curl ", -3, False, _ANY, _HAS_CURL, True), (23, "curl\t", -3, False, _ANY, _HAS_CURL, True),
    (24, "mysql", -4, False, _COMMAND, _HAS_MYSQL, True),  # "mysql" then a blank, or "dump ", "admin ", ...
    (25, "kennwort", -4, True, _OPERATOR, 0, True), (26, "senha", -3, True, _OPERATOR, 0, True),
    (27, "<master>", -7, False, _ANY, _HAS_MASTER, False),  # settings-security.xml's <master>
)
_OFF, _LEN, _FOLD_CASE, _FOLLOW, _FLAG, _IS_NAME, _CHARS = range(7)
_ROWS = np.zeros((len(_WORD_ROWS), _CHARS + max(len(w) for _, w, *_ in _WORD_ROWS)), np.int64)
for _k, (_t, _w, *_rest) in enumerate(_WORD_ROWS):
    _ROWS[_k, :_CHARS + len(_w)] = [_rest[0], len(_w), *_rest[1:], *map(ord, _w)]
    assert -_rest[0] == len(_w) or _PAIRS[ord(_w[-_rest[0] - 1]), ord(_w[-_rest[0]])] == _t, _w  # its pair ends where the row says
    # (_salt's pair is its "t" and the quote after it)
_FIRST_ROW = np.searchsorted([t for t, *_ in _WORD_ROWS], np.arange(_ASCII_ROW + 1))  # a test's rows: _FIRST_ROW[t]:_FIRST_ROW[t + 1]
assert list(_FIRST_ROW[1:]) == sorted(_FIRST_ROW[1:])
# The ASCII names (``_NAME``; "key" for each "..._key" and "...key") by their last three characters, read backwards (the last
# in the low 7 bits): the scan takes a word of look-alikes only before an operator where its Latin reading ends so (``_look_alikes_only``);
# a name added to ``_NAME`` adds its ending here
_ASCII_NAMES = ("password passwd passwort passord passphrase pass passe pwd kennwort senha contrasena contrasenya wachtwoord haslo"
                " sifre salasana losenord adgangskode heslo jelszo lozinka secret token api_key key_base keybase").split()
assert all(re.fullmatch(rf"(?i){_NAME}", w) for w in _ASCII_NAMES)
_NAME_TAILS = np.array(sorted({ord(w[-1]) + (ord(w[-2]) << 7) + (ord(w[-3]) << 14) for w in _ASCII_NAMES}), np.int64)
_WORDS = (_ROWS, _FIRST_ROW, _NAME_TAILS)  # the scan's ``words``
# the non-ASCII names of ``_PW_WORDS`` (lower case), a row each: the offset of its first non-ASCII character, its
# length, its characters (zero-padded): one array, not a tuple of them (a text dense with "п" or 密 ran the scan at
# 23 MB/s, fetching each name's array at each; 1,060 on main)
_UNAMES_LIST = ("contraseña", "пароль", "hasło", "şifre", "密码", "パスワード", "비밀번호") + _NFD_NAMES
_N_UNICODE = len(_UNAMES_LIST)
_UNAMES = np.zeros((_N_UNICODE + len(_ANAMES_LIST), 2 + max(len(w) for w in _UNAMES_LIST + tuple(w for w, _ in _ANAMES_LIST))), np.int64)
for _k, _w in enumerate(_UNAMES_LIST):
    _UNAMES[_k, :2 + len(_w)] = [next(i for i, ch in enumerate(_w) if ord(ch) >= 128), len(_w)] + [ord(ch) for ch in _w]
for _k, (_w, _pair) in enumerate(_ANAMES_LIST):
    _UNAMES[_N_UNICODE + _k, :2 + len(_w)] = [_w.index(_pair) + 1, len(_w)] + [ord(ch) for ch in _w]
# their first non-ASCII characters, either case (each starts one name): its row + 1; the others are looked up only
_USTARTS = np.zeros(0x10000, np.int8)
for _k, _w in enumerate(_UNAMES[:_N_UNICODE]):
    _USTARTS[[_w[2 + _w[0]], ord(chr(_w[2 + _w[0]]).upper())]] = _k + 1
assert np.count_nonzero(_USTARTS) == 2 * len(_UNAMES_LIST) - sum(chr(w[2 + w[0]]).upper() == chr(w[2 + w[0]]) for w in _UNAMES)
_LAST = [(None, None)]  # (text, its _candidates): the patterns of one redaction ask for the same text; cleared after it
_LAST_LINES = [(None, None)]  # (text, its _where), likewise


def candidates(text: str) -> tuple:
    """``_candidates`` of ``text``, computed once for the patterns that ask."""
    last = _LAST[0]  # one read: another thread may replace it
    if last[0] is not text:
        codes = code_points(text)
        if _in_python(len(codes)):
            py = _python()
            found = py["_candidates"](codes.tolist(), *py["tables"], None if codes.dtype == np.uint8 else py["ustarts"])
        else:
            found = _candidates(codes, _PAIRS, _WORDS, _UNAMES, None if codes.dtype == np.uint8 else _USTARTS)
        last = _LAST[0] = (text, found)
    return last[1]


# The kernels run as Python (``python_twins``) in a process where numba is not set up, for its first _PYTHON_CHARS: a
# ledger snippet's 712 characters take ~0.2 ms so, where numba's set-up costs ~0.7 CPU-s and 50-70 MB in each worker that
# makes one (a run without the filter, whose warm-up sets numba up before the fork: langid's removals). Past that, or
# for a longer text, the kernels: at most ~0.3 CPU-s in Python before them (bench/bench_ledger_snippets.py --pool).
_PYTHON_CHARS = 1_000_000
_PYTHON = {"left": _PYTHON_CHARS, "twins": None}


def warm_up() -> None:
    """Load the kernels, ASCII text's and wider text's, in this process: one that scans whole texts (the filter's)."""
    for text in ("a b a b", "é è é è"):
        codes = code_points(text)
        _candidates(codes, _PAIRS, _WORDS, _UNAMES, None if codes.dtype == np.uint8 else _USTARTS)


def _in_python(n: int) -> bool:
    """Scan ``n`` characters in Python (counted), not with the kernels?"""
    if numba_ready() or n > _PYTHON["left"]:
        return False
    _PYTHON["left"] -= n
    return True


def _python() -> dict:
    """The kernels as Python, and their tables as Python ints (lists, object arrays): numpy's small scalars wrap where
    numba's int64 do not (``_USTARTS``' int8 `u << 14` in ``_name_tail_run``), and index ~5x slower."""
    if _PYTHON["twins"] is None:
        py = python_twins(globals())
        py["_FOLD_BASE"] = _FOLD_BASE.tolist()
        py["tables"] = (_PAIRS.astype(object), (_ROWS.astype(object), _FIRST_ROW.tolist(), _NAME_TAILS.tolist()), _UNAMES.astype(object))
        py["ustarts"] = _USTARTS.tolist()
        _PYTHON["twins"] = py
    return _PYTHON["twins"]


def _lines(text: str) -> list:
    """[start, end) spans of the lines holding a name followed by an operator, each with the
    line after it (the operator may start it), merged where they meet."""
    return _where(text)[0]


def _lines_with(flag: int):
    """``_lines``, where the scan found the names of ``flag``'s form (none else: each form's regex over every text's
    candidate lines cost, "curl " searched for on all of them)."""
    def lines(text: str) -> list:
        spans, flags = _where(text)
        return spans if flags & flag else []
    return lines


def _where(text: str) -> tuple:
    """(``_lines``, the scan's flags), computed once for the patterns that ask (thirteen: each made them again, and
    asking the scan's cache and the lines' cost 5% of the code filter)."""
    last = _LAST_LINES[0]  # one read, as candidates'
    if last[0] is text:
        return last[1]
    flags, names = candidates(text)
    spans, line_end = [], -1
    for j in names:
        if j < line_end:  # on the last one's line: each line looked at once (a 1 MB line of `pass=1 `: 3.4 s)
            continue
        start = text.rfind("\n", 0, j) + 1
        end = line_end = text.find("\n", j)
        line_end = len(text) if end < 0 else end
        end = len(text) if end < 0 else text.find("\n", end + 1)
        end = len(text) if end < 0 else end
        if spans and start <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    _LAST_LINES[0] = (text, (spans, flags))
    return spans, flags


def _block_lines(text: str) -> list:
    """``_lines``, each span run on over the lines after it that start with a blank (a YAML block scalar's, 100 at most)."""
    spans = []
    for start, end in _lines(text):
        for _ in range(100):
            if end + 1 >= len(text) or text[end + 1] not in " \t\r\n":
                break
            nxt = text.find("\n", end + 1)
            end = len(text) if nxt < 0 else nxt
        if spans and start <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans


def _word_lines(text: str, word: str) -> list:
    """The [start, end) spans of the lines holding ``word`` (str.find: a regex over every text, or
    one whose line's start is found after a "\n" or a lone "\r", costs more than the patterns)."""
    spans, i = [], text.find(word)
    while i >= 0:
        start, end = text.rfind("\n", 0, i) + 1, text.find("\n", i)
        end = len(text) if end < 0 else end
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        i = text.find(word, end)
    return spans




def _env_lines(text: str) -> list:
    return _word_lines(text, "ENV")


def _lone_cr(text: str) -> bool:
    return "\r" in text and _LONE_CR.search(text) is not None


def _has_set(text: str) -> bool:
    """Can ``_SET`` match? (casefold: ``(?i)`` takes the long s for s; 0.9 us for a snippet, where
    the search, its line's start found after a "\n" or a lone "\r", takes 14)"""
    return "set" in text.casefold()


PATTERNS = {
    "private_key": [(lambda t: bool(candidates(t)[0] & _HAS_PEM), _PEM, None)],
    "token": [(lambda t: bool(candidates(t)[0] & _HAS_TOKEN) and "eyJ" in t, _JWT_WRAPPED, None), (lambda t: bool(candidates(t)[0] & _HAS_TOKEN), _TOKEN, _token_ok)],
    "password": [(_lines, _QUOTED, _named_value_ok), (_lines, _QUOTED_ELSE, _named_value_ok), (_lines_with(_HAS_URL), _URL, _url_ok), (_lines_with(_HAS_URL), _URL_SLASH, _url_slash_ok),
                 (_lines_with(_HAS_PASS), _QUERY, _param_ok), (_lines_with(_HAS_PASS), _CONN, _param_ok), (_lines, _XML, _xml_ok),
                 (_lines_with(_HAS_SETTER), _CALL, _setter_ok), (_lines_with(_HAS_ARGUMENT), _PAIR, _wide_ok), (_lines_with(_HAS_AUTH), _AUTH, _auth_ok),
                 (_lines_with(_HAS_USERPWD), _USERPWD, _auth_ok), (_lines_with(_HAS_PASS), _LIBPQ, _libpq_ok),
                 (_lines_with(_HAS_CURL), _CURL_USER, _curl_ok), (_lines_with(_HAS_MYSQL), _MYSQL_P, _mysql_ok),
                 (lambda t: bool(candidates(t)[0] & _HAS_MASTER), _MASTER, _master_ok)],
}
_CONFIG_PATTERNS = PATTERNS | {"password": PATTERNS["password"] + [
    (_lines, _UNQUOTED, _unquoted_ok), (_env_lines, _ENV_BLANK, _unquoted_ok), (_lines, _ENV_MULTI, _unquoted_ok),
    (_block_lines, _YAML_BLOCK, _block_ok)]}


def _not_command_ok(m: re.Match) -> bool:
    """``_named_value_ok``, where a backquote is the shell's command substitution (PASSWORD=$(cat ...) written with backquotes:
    a command, redacted as a password of words before), not a string's quote (JavaScript's template literal)."""
    return m.group("q") != "`" and _named_value_ok(m)


def _commands(forms: list) -> list:
    """``forms`` with the quoted one's check ``_not_command_ok`` (a shell's, a Dockerfile's RUN, a Makefile's recipe)."""
    return [(test, rx, _not_command_ok if rx is _QUOTED or rx is _QUOTED_ELSE else check) for test, rx, check in forms]


# the shell's and a Dockerfile's: a blank ends an unquoted value (``_UNQUOTED_SHELL``)
_SHELL_PATTERNS = PATTERNS | {"password": _commands(PATTERNS["password"]) + [
    (_lines, _UNQUOTED_SHELL, _unquoted_ok), (_env_lines, _ENV_BLANK, _unquoted_ok), (_lines, _ENV_MULTI, _unquoted_ok),
    (_block_lines, _YAML_BLOCK, _block_ok)]}  # a heredoc's YAML
_DOCKER_PATTERNS = PATTERNS | {"password": _SHELL_PATTERNS["password"] + [
    (_lines, _DOCKER_ENV, _unquoted_ok), (_env_lines, _DOCKER_ENV_BLANK, _unquoted_ok)]}
_MAKE_PATTERNS = _CONFIG_PATTERNS | {"password": _commands(_CONFIG_PATTERNS["password"])}  # a recipe's, a variable's backquotes: the shell's
_SHELL_LANGUAGES = ("shell",)
_PROPERTIES_PATTERNS = PATTERNS | {"password": PATTERNS["password"] + [(lambda t: True, _PROPERTIES, _properties_ok)]}
# Tcl files are few: `set` lines are searched in the whole text (a name there has no operator)
_SET_FORMS = [(lambda t: _has_set(t) and not _lone_cr(t), _SET_LF, _unquoted_ok), (lambda t: _has_set(t) and _lone_cr(t), _SET, _unquoted_ok)]
_SET_PATTERNS = PATTERNS | {"password": PATTERNS["password"] + _SET_FORMS}


# Latin letters' look-alikes in Cyrillic and Greek (Unicode's confusables.txt, the letters alike in most fonts: not
# Cyrillic's small к, м, н, т, of small-capital shape), read as Latin in a word of Latin letters and look-alikes, both
# (``_look_alikes``): a name typed or planted as `p\u0430ssword` (a Cyrillic "\u0430") is a password's. A word of one script
# (Пароль, рассвет, сосо) is that script's, read as it is.
_LOOK_ALIKE = str.maketrans("\u0430\u0441\u0435\u04bb\u0456\u0458\u04cf\u043e\u0440\u051b\u0455\u051d\u0445\u0443\u0501"
                            "\u0410\u0412\u0421\u0415\u041d\u0406\u0408\u041a\u041c\u041e\u0420\u0405\u0422\u0425\u04ae\u051a\u051c"
                            "\u03b1\u03bf\u03c1\u03b9\u03bd\u03c5\u03c7\u03b3"
                            "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7",
                            "acehijlopqswxyd" "ABCEHIJKMOPSTXYQW" "aopivuxy" "ABEZHIKMNOPTYX")
_LOOKS = "".join(chr(c) for c in _LOOK_ALIKE)
# a word: a name's parts ("_", ".", "-", digits) joined (`DB_РАЅЅ`, `db.раѕѕ`: Cyrillic PASS, pass), not next to another letter; tried
# where a name starts only (after none of its characters: from each "_" of a long `a_a_a...` it ran to the end, quadratic)
_LOOK_ALIKE_WORD = re.compile(rf"(?<![\w.-])[A-Za-z0-9_.{_LOOKS}-]*[{_LOOKS}][A-Za-z0-9_.{_LOOKS}-]*(?![^\W\d_])")
# a look-alike's code point is its Latin letter's (>= ``_LOOK``) in ``_USTARTS`` (one look-up a character: the scan tells a text with one beside a
# Latin letter, ``_HAS_LOOK_ALIKE``; a table of its own cost a non-ASCII text 0.81x the scan's speed)
assert not _USTARTS[[ord(c) for c in _LOOKS]].any()
_USTARTS[[ord(c) for c in _LOOKS]] = [ord(chr(_LOOK_ALIKE[ord(c)]).lower()) for c in _LOOKS]
assert _USTARTS[[ord(c) for c in _LOOKS]].min() >= _LOOK and _LOOK > max(_FOLD, _N_UNICODE)
_LATIN = re.compile("[A-Za-z]")
# a word of look-alikes only is read as Latin where its skeleton ends in a secret's name (`раѕѕ`, `ТОКЕΝ`, `рԝԁ`: Cyrillic's
# dze, Komi's de and we, a Greek N; Russian's own letters spell none: `сосо`, `расход` stay)
_NAME_END = re.compile(rf"(?i)(?:{_NAME})\Z")
# Invisible characters inside a word: zero-width ones (ZWSP, ZWNJ, ZWJ, WORD JOINER, ZWNBSP/BOM), a soft hyphen (U+00AD: shown
# only where a line breaks) and the combining marks (U+0300-U+036F: the grapheme joiner U+034F shows nothing, a diacritic over
# a letter): `pass\u200bword`, `pass\u00adword`, `pa\u0301ssword` read as password. A run of a name's characters holding one is
# read without them, as many "." before it (``_read_invisible_runs``: `.password`; a name's patterns take a "." before it, a
# token's start too; "-" after a "-", a token's part). Tried at a word's start only (from each character of a word it ran to the word's end: a BOM'd file's
# 16 KB hex literal took 3.8 s)
_INVISIBLES = _ZERO_WIDTHS + "\u00ad" + "".join(map(chr, range(0x300, 0x370)))
assert not _USTARTS[[ord(c) for c in _INVISIBLES]].any()
_USTARTS[[ord(c) for c in _INVISIBLES]] = _ZERO_WIDTH

# Precomposed Latin letters (Latin-1 and Extended-A, NFC's é, ä, ç) whose base letter is ASCII: -(base's lower case - 96) in
# ``_USTARTS``; the scan reads them as their base letters and flags a name found with one (``_HAS_ACCENTED``), and
# ``_look_alikes`` reads it with its base letters, as NFD's marks are read (``se\u0301cret`` is secret: NFC's ``sécret`` was
# kept, NFD's redacted). Not a non-ASCII name's first letter (contraseña's ñ, şifre's ş: ``_UNAMES``)
_ACCENTED = {c: base for c in range(0xC0, 0x180) if not _USTARTS[c]
             and len(d := unicodedata.normalize("NFD", chr(c))) > 1 and d[0].isascii() and (base := d[0]).isalpha()}
_USTARTS[list(_ACCENTED)] = [96 - ord(b.lower()) for b in _ACCENTED.values()]
_ACCENT_BASE = np.zeros(0x180, np.uint32)
_ACCENT_BASE[list(_ACCENTED)] = [ord(b) for b in _ACCENTED.values()]
_FOLD_BASE = np.zeros(0x180, np.int64)  # ``_fold``'s: lower case
_FOLD_BASE[list(_ACCENTED)] = [ord(b.lower()) for b in _ACCENTED.values()]
_FOLD_BASE[0x17F] = 115  # ſ
_WORD_REST = re.compile(r"\w*")
_OP_AHEAD = re.compile(r"[\"']?[ \t]*(?:[:=>(,\uff1a\uff1d]|[?+]=)")  # (as the scan's ``_op_follows``)


def _read_accented_names(text: str) -> str:
    """``text`` with each word holding precomposed Latin letters before an operator (``_HAS_ACCENTED``) read with their base
    letters (`sécret = ...` as `secret = ...`), of its length; the other words (a value's `läuft`) as they are. A word at a
    time from its letters' places (numpy): ``str.translate`` over the text, and a regex for the words, ran a code file at
    3-7 MB/s."""
    cp = code_points(text)
    small = np.minimum(cp, 0x17F)
    at = np.flatnonzero(_ACCENT_BASE[small] * (cp < 0x180)).tolist()
    out, done = None, -1
    for p in at:
        if p < done:
            continue
        done = _WORD_REST.match(text, p).end()
        if _OP_AHEAD.match(text, done):
            s = p
            while s > 0 and (text[s - 1].isalnum() or text[s - 1] == "_"):
                s -= 1
            out = cp.astype(np.uint32) if out is None else out
            word = out[s:done]
            base = _ACCENT_BASE[np.minimum(word, 0x17F)] * (word < 0x180)
            out[s:done] = np.where(base > 0, base, word)
    return text if out is None else out.tobytes().decode("utf-32-le", "surrogatepass")


def _read_zero_widths(text: str) -> str:
    """``text`` with each run of a name's characters (ASCII letters, digits, "_", look-alikes) holding an invisible character
    (``_INVISIBLES``) read without them (``_read_invisible_runs``); any other word as it is: Persian's ZWNJ between its own
    letters (`می\u200cشود`). In one compiled pass (a word at a time in Python, with a regex and str.translate each, read a
    Persian text with one `API\u200cها` in 20 words at 30 MB/s)."""
    codes = code_points(text)
    if _in_python(len(codes)):  # (numpy's scalars: nothing here but compared and copied)
        out, changed = _python()["_read_invisible_runs"](codes, _USTARTS)
    else:
        out, changed = _read_invisible_runs(codes, _USTARTS)
    return out.tobytes().decode("utf-32-le", "surrogatepass") if changed else text


def _as_latin(word: str) -> str:
    """A look-alike word (``_LOOK_ALIKE_WORD``) as ``_look_alikes`` reads it: in Latin letters where it holds one or its
    skeleton ends in a secret's name (``_NAME_END``); else as it is."""
    latin = word.translate(_LOOK_ALIKE)
    return latin if _LATIN.search(word) or _NAME_END.search(latin) else word


def _nfkc_latin() -> list:
    """Latin letters and digits Python reads as ASCII in a name (PEP 3131's NFKC: `ｐａｓｓｗｏｒｄ = ...` assigns password):
    the fullwidth forms and the mathematical alphanumerics (𝐩𝐚𝐬𝐬), one character each: [(first code point, each one's
    ASCII code point or 0)] (a numpy look-up: ``str.translate`` read a CJK text at 15 MB/s)."""
    import unicodedata

    out = []
    for lo, hi in ((0xFF10, 0xFF5A), (0x1D400, 0x1D7FF)):
        table = np.zeros(hi + 1 - lo, np.uint32)
        for c in range(lo, hi + 1):
            a = unicodedata.normalize("NFKC", chr(c))
            if len(a) == 1 and a.isascii() and (a.isalnum() or a == "_"):
                table[c - lo] = ord(a)
        out.append((lo, table))
    return out


_NFKC_LATIN = _nfkc_latin()
# a fullwidth letter is ``_FOLD`` in ``_USTARTS`` (not a digit: a CJK text's ２０２４ is read as it is, unless a letter is near);
# a mathematical one is told by its range in the scan
_FULLWIDTH_LETTERS = [lo + i for lo, t in _NFKC_LATIN[:1] for i in np.flatnonzero(t) if chr(t[i]).isalpha()]
assert not _USTARTS[_FULLWIDTH_LETTERS].any()
_USTARTS[_FULLWIDTH_LETTERS] = _FOLD


def _fold_latin(text: str) -> str:
    """``text`` with its fullwidth and mathematical Latin letters and digits as ASCII (``_NFKC_LATIN``), of its length."""
    cp = code_points(text).astype(np.uint32)
    for lo, table in _NFKC_LATIN:
        i = cp - np.uint32(lo)  # (wraps below lo: out of the table)
        at = np.flatnonzero((i < len(table)))
        new = table[i[at]]
        cp[at[new != 0]] = new[new != 0]
    return cp.tobytes().decode("utf-32-le", "surrogatepass")


def _look_alikes(text: str) -> str | None:
    """``text`` with its words that mix Latin letters and look-alikes (``_LOOK_ALIKE``), or are look-alikes spelling a
    secret's name, read as Latin, its words' invisible characters as "." before them (``_read_zero_widths``), its fullwidth
    colon and equals sign as ":" and "=", its fullwidth
    letters as ASCII where a name or, with a secret's name in the text, a value holds them; of its length; None where it has none."""
    if text.isascii():
        return None
    flags, names = candidates(text)  # the scan's (a regex search for the pair: 2x the time)
    if not flags & (_HAS_LOOK_ALIKE | _HAS_FOLD | _HAS_ZERO_WIDTH | _HAS_WIDE | _HAS_WIDE_OP | _HAS_ACCENTED) and not (flags & _NEAR_INVISIBLE and names):
        return None
    read = text
    if flags & _HAS_ZERO_WIDTH or flags & _NEAR_INVISIBLE and names:  # a name's, a token's, or a named value's
        read = _read_zero_widths(read)
    if flags & _HAS_WIDE_OP:  # `password\uff1a ...`: a fullwidth colon or equals sign is the operator it looks
        read = read.replace("\uff1a", ":").replace("\uff1d", "=")
    if flags & _HAS_FOLD or flags & _HAS_WIDE and (names or read is not text):  # a fullwidth value (`password = "ｈｕｎｔｅｒ２２ｘ"`)
        read = _fold_latin(read)
    if flags & _HAS_LOOK_ALIKE:
        read = _LOOK_ALIKE_WORD.sub(lambda m: _as_latin(m.group()), read)
    if flags & _HAS_ACCENTED:
        read = _read_accented_names(read)
    return None if read == text else read


def _by_language(cfg: dict):
    """The redaction of each language's forms: a function of the language (any case; an extension's or interpreter's
    label, `yml`, `bash`, `env`, as ``languages.canonical`` names it: it got the code's forms only; None or another: the code's)."""
    code, config, shell, docker, make, properties, tcl = (redaction("secrets", p, cfg["kinds"], cfg["placeholder"], _look_alikes) for p in (
        PATTERNS, _CONFIG_PATTERNS, _SHELL_PATTERNS, _DOCKER_PATTERNS, _MAKE_PATTERNS, _PROPERTIES_PATTERNS, _SET_PATTERNS))
    from curate.readers.languages import canonical  # the one table of labels: `yml`, `sh`, `bash`, `env` are its languages'

    # the config's names read as the labels are (`unquoted_languages = ["yml"]` gave a `yaml` record the code's forms)
    by_language = {x: {"dockerfile": docker, "makefile": make, "java properties": properties}.get(x, shell if x in _SHELL_LANGUAGES else config)
                   for x in (canonical(str(x)) for x in cfg["unquoted_languages"])} | {canonical(str(x)): tcl for x in cfg["set_languages"]}
    return lambda language: by_language.get((language or "").lower()) or by_language.get(canonical(language), code)


def secrets_rewrite(cfg: dict) -> Rewrite:
    of_language = _by_language(cfg)

    def redact(doc) -> tuple[str, dict]:  # a TextDoc
        try:
            return of_language(doc.language).fn(doc)
        finally:
            _LAST[0] = _LAST_LINES[0] = (None, None)  # not the text after it (a code file can be hundreds of MB)

    return Rewrite("secrets", redact)


# Every form, whatever the language, for a text with no programming language (``redact_secrets``): a web page, a book, a
# skipped file of no known language, where a false match costs only an audit's reading of a few characters.
# (the properties form on the scan's lines only: searched on every snippet's whole text it made them 6x slower, 34 -> 200 ms
# over the code sample's 954 heads; a properties file's blank separator, `db.password letmein`, is its language's: ``redact_secrets``)
_ALL_PATTERNS = PATTERNS | {"password": _CONFIG_PATTERNS["password"] + [(_lines, _UNQUOTED_SHELL, _unquoted_ok),
                                                                        (_lines, _PROPERTIES, _properties_ok), (_lines, _DOCKER_ENV, _unquoted_ok),
                                                                        (_env_lines, _DOCKER_ENV_BLANK, _unquoted_ok)] + _SET_FORMS}
# A key whose END line is past the text's end (a snippet cut inside it): its BEGIN line on, all of it
_PEM_OPEN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\s\"'\\,:.]|-(?!----))*\Z")
# A quoted value whose closing quote is past the text's end (a 4 KB key cut by the snippet's 512 more): from its quote on
_QUOTED_OPEN = re.compile(rf"{_OPEN_QUOTE}(?P<v>{_QCHARS}{{6,}})\Z")
_REDACT_ALL = [None, None]  # every form's redaction, each language's (``_by_language``, the default config's)


def redact_secrets(text: str, language: str | None = None) -> str:
    """``text`` with its secrets replaced by ``<KEY>``, and a private key or quoted value cut at the text's end too (what
    a ledger snippet shows, curate/snippets.py): by every form (``_ALL_PATTERNS``), whatever the language, then a code
    file's (``language``) by its own language's forms too, as the filter's rewrite finds them (a properties file's
    `db.password letmein`). Every form first: a label the filter's table does not know (`yml`, `bash`, ``""``), a wrong one
    (a `.properties` file under its repository's `java`) or a config inside code (a test's INI string) kept a value there
    that every form takes; a false match (C's `pass = x;`) costs the audit a few characters, a kept one the secret."""
    if _REDACT_ALL[0] is None:
        _REDACT_ALL[0] = redaction("secrets", _ALL_PATTERNS, SECRETS["kinds"], SECRETS["placeholder"], _look_alikes).fn
        _REDACT_ALL[1] = _by_language(SECRETS)
    own = None if language is None else _REDACT_ALL[1](language)
    try:
        text = _REDACT_ALL[0](SimpleNamespace(text=text))[0]
        if own is not None and own is not _REDACT_ALL[1](None):  # the code's forms are every form's already
            text = own.fn(SimpleNamespace(text=text))[0]
    finally:
        _LAST[0] = _LAST_LINES[0] = (None, None)
    q = max(text.rfind('"'), text.rfind("'"))  # the last quote's value runs to the end, its operator just before
    m = None
    if q >= 0 and len(text) - q > 6:
        read = _look_alikes(text) or text  # a look-alike name is a name here too
        _LAST[0] = _LAST_LINES[0] = (None, None)
        m = _QUOTED_OPEN.search(read, max(0, q - 40))
    if m and _named_value_ok(m):
        text = text[:m.start("v")] + SECRETS["placeholder"]
    return _PEM_OPEN.sub(SECRETS["placeholder"], text) if "PRIVATE KEY" in text else text
