"""``${variable}`` substitution.

``${name}`` reads the workflow's variables (``--var`` overrides them), ``${env.NAME}``
reads the environment, ``$${`` is a literal ``${``. A plain ``$NAME`` is left alone
for the shell to expand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

__all__ = ["Reference", "references", "substitute"]

# The closing brace is optional so that an unclosed "${" is matched once, to the end of
# the text, instead of being retried (and failed) from every later "${": with a required
# brace, 40,000 unclosed "${" took 30 s to scan.
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)(\})?")
_NAME = re.compile(r"^(env\.)?[A-Za-z_][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class Reference:
    """One ``${...}`` in a string: its raw text and what is wrong with it, if anything."""

    raw: str
    name: str
    is_env: bool
    valid: bool

    @property
    def key(self) -> str:
        return self.name[4:] if self.is_env else self.name


def references(text: str) -> Iterator[Reference]:
    for match in _TOKEN.finditer(text):
        if match.group(1) is None or match.group(2) is None:
            continue  # the $${ escape, or an unclosed ${ (nothing after it is a reference)
        name = match.group(1).strip()
        valid = bool(_NAME.match(name))
        yield Reference(match.group(0), name, name.startswith("env."), valid)


class UndefinedVariable(KeyError):
    def __init__(self, reference: Reference) -> None:
        super().__init__(reference.name)
        self.reference = reference


def substitute(text: str, variables: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """Replace every reference; raise UndefinedVariable for the first unknown one."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "${"
        if match.group(2) is None:  # an unclosed "${": only escapes after it change
            return "${" + match.group(1).replace("$${", "${")
        name = match.group(1).strip()
        ref = Reference(match.group(0), name, name.startswith("env."), bool(_NAME.match(name)))
        source = environ if ref.is_env else variables
        if not ref.valid or ref.key not in source:
            raise UndefinedVariable(ref)
        return source[ref.key]

    return _TOKEN.sub(replace, text)
