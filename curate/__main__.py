"""``python -m curate``: the ``curate`` command, for when the venv's bin/ is not on PATH."""
from curate.cli import entry

if __name__ == "__main__":
    entry()
