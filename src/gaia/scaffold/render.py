"""Rendering: Jinja2 in a sandbox with StrictUndefined, and Go-style ``{{.name}}`` accepted.

A misspelt variable is an error naming the file and line, never an empty string. A
template can read variables and call filters; it cannot reach Python internals nor
compute something huge (see sandbox.py). Whatever an expression raises ({{ 1/0 }},
{{ "a" + 1 }}, a recursion without end) is a ScaffoldValidationError at its line.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from typing import Any

import jinja2

from gaia.errors import Problem, ScaffoldValidationError
from gaia.scaffold.sandbox import ScaffoldSandbox, TemplateLimitError

__all__ = ["Renderer", "go_to_jinja", "is_text"]

# {{.name}} / {{- .name | upper }}: a Go template field reference at the start of an
# expression. Only that form is rewritten; the rest is plain Jinja.
_GO_FIELD = re.compile(r"(\{\{-?\s*)\.([A-Za-z_][A-Za-z0-9_]*)")


# {{ name }} or {{.name}}, no filters and no whitespace control: the fast path.
_SIMPLE = re.compile(r"\{\{\s*\.?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def go_to_jinja(text: str) -> str:
    return _GO_FIELD.sub(r"\1\2", text)


class Renderer:
    """Renders text, paths and conditions against one set of variables."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = dict(variables)
        self.env = ScaffoldSandbox()

    def render(self, text: str, *, source: str, line_offset: int = 0) -> str:
        """Render ``text``; errors are ScaffoldValidationError located at ``source``:line."""
        if "{" not in text:  # nothing to render: most files of a big template
            return text
        simple = self._substitute(text)
        if simple is not None:
            return simple
        self.env.ranges.reset()
        try:
            template = self.env.from_string(go_to_jinja(text))
            template.name = source  # so that traceback frames name it
            return template.render(self.variables)
        except jinja2.TemplateSyntaxError as exc:
            raise self._error(
                f"template syntax error: {exc.message}", source, line_offset + (exc.lineno or 1)
            ) from None
        except jinja2.UndefinedError as exc:
            line = _template_line(exc, source)
            message = str(exc.message or exc)
            found = re.match(r"'([^']+)' is undefined", message)
            if found:
                message = f"undefined variable {found.group(1)!r}"
            hint = f"template variables: {', '.join(sorted(self.variables)) or 'none'}"
            raise self._error(
                message, source, None if line is None else line_offset + line, hint
            ) from None
        except (jinja2.TemplateError, TemplateLimitError) as exc:
            line = _template_line(exc, source)
            raise self._error(
                f"cannot render: {exc}", source, None if line is None else line_offset + line
            ) from None
        except Exception as exc:  # anything an expression raises is the template's fault
            line = _template_line(exc, source)
            raise self._error(
                f"cannot render: {_describe(exc)}",
                source,
                None if line is None else line_offset + line,
            ) from None

    def _substitute(self, text: str) -> str | None:
        """Text whose only Jinja is ``{{ name }}`` references to defined variables,
        rendered without compiling a template (a compile costs ~0.3 ms; a project of a
        thousand files pays it a thousand times). None: let Jinja do it."""
        if "{%" in text or "{#" in text:
            return None
        matches = _SIMPLE.findall(text)
        if len(matches) != text.count("{{") or any(m not in self.variables for m in matches):
            return None
        # str() is what Jinja prints for these values too.
        return _SIMPLE.sub(lambda m: str(self.variables[m.group(1)]), text)

    def condition(self, expression: str, *, source: str) -> bool:
        """Evaluate a ``when`` condition (a Jinja expression over the variables)."""
        self.env.ranges.reset()
        try:
            compiled = self.env.compile_expression(
                go_to_jinja(expression).lstrip("."), undefined_to_none=False
            )
            return bool(compiled(**self.variables))
        except jinja2.TemplateError as exc:
            message = getattr(exc, "message", None) or str(exc)
            raise self._error(
                f"invalid condition {expression!r}: {message}", source, None
            ) from None
        except Exception as exc:  # as in render()
            raise self._error(
                f"invalid condition {expression!r}: {_describe(exc)}", source, None
            ) from None

    @staticmethod
    def _error(
        message: str, source: str, line: int | None, hint: str | None = None
    ) -> ScaffoldValidationError:
        # The last '#': a template directory may have one in its name, an entry never does.
        file, marked, where = source.rpartition("#")
        if not marked:
            file, where = where, ""
        problem = Problem(
            f"{where}: {message}" if where else message,
            source=file,
            line=line,
            column=1 if line else None,
            hint=hint,
        )
        return ScaffoldValidationError.from_problems(file, [problem])


def _describe(exc: BaseException) -> str:
    """``division by zero``; the exception's name when its message says nothing."""
    if isinstance(exc, RecursionError):
        return "recursion too deep (a macro or loop that calls itself without end?)"
    if isinstance(exc, MemoryError):
        return "out of memory"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _template_line(exc: BaseException, source: str) -> int | None:
    """The template line a render error happened on (Jinja rewrites its traceback)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename in (source, "<template>"):
            return frame.lineno
    return None


def is_text(data: bytes) -> bool:
    """Whether a source file is text to render (UTF-8, no NUL) or bytes to copy."""
    if b"\0" in data[:8192]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
