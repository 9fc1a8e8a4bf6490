"""How a function reads its settings: the environment variables the CDK stack gives it, read
into one frozen object on first use. Each capability declares its functions' settings beside
its code (`update/settings.py`, `rollout/settings.py`, `retention/settings.py`,
`breaker/settings.py`, `spoke/settings.py`, `distribution/settings.py`), so that a function
compiles only this module and its own capability's.

The stack gives a function exactly the variables of the objects its handler reads
(infra/constructs/functions.py; tests/infra/test_function_environment.py checks both ways). A
missing variable fails the first use, loudly (KeyError naming it). An object is built once per
process for the values it was read from: Lambda's environment never changes, so once per cold
start; tests and the offline rehearsal, which run several deployments in one process, get a
new one when the values change.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import FrozenInstanceError
from functools import cache
from typing import Any, ClassVar, NamedTuple, Self, dataclass_transform


class _Variable(NamedTuple):
    name: str
    read: Callable[[str], Any]
    when_unset: str | None = None  # None: the variable must be set


def variable(name: str, read: Callable[[str], Any] = str, *, when_unset: str | None = None) -> Any:
    """A field read from the environment variable `name`, turned into its type by `read`."""
    return _Variable(name, read, when_unset)


def flag(text: str) -> bool:
    return text == "true"


def names(text: str) -> tuple[str, ...]:
    return tuple(str(name) for name in json.loads(text))


def tags(text: str) -> Mapping[str, str]:
    return {str(key): str(value) for key, value in json.loads(text).items()}


def csv(text: str) -> tuple[str, ...]:
    return tuple(item for item in text.split(",") if item)


# Not @dataclass: each frozen dataclass costs about half a millisecond to create on Python 3.11
# (its methods are compiled one by one), and every function's cold start would pay for all of
# them. This base gives the same frozen, comparable, keyword-or-positional objects (and tells
# type checkers so) by reading the fields once when a class is defined.
@dataclass_transform(frozen_default=True, field_specifiers=(variable,))
class FromEnvironment:
    """A frozen object whose fields are environment variables (declared by `variable`)."""

    _fields: ClassVar[tuple[tuple[str, _Variable], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._fields = tuple(
            (name, spec) for name, spec in vars(cls).items() if isinstance(spec, _Variable)
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = [name for name, _spec in self._fields]
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} values, got {len(args)}")
        values = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name not in names or name in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated {name!r}")
            values[name] = value
        for name, spec in self._fields:  # an optional variable not given: as if unset
            if name not in values and spec.when_unset is not None:
                values[name] = spec.read(spec.when_unset)
        missing = [name for name in names if name not in values]
        if missing:
            raise TypeError(f"{type(self).__name__} needs {', '.join(missing)}")
        for name in names:
            object.__setattr__(self, name, values[name])
        self.__post_init__()

    def __post_init__(self) -> None:
        """Checks across fields, in subclasses."""

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name, _spec in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), *(_hashable(value) for value in self._values())))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name, _spec in self._fields)
        return f"{type(self).__name__}({fields})"

    @classmethod
    def variables(cls) -> tuple[str, ...]:
        """The variables the function must be given."""
        return tuple(spec.name for _field, spec in cls._fields if spec.when_unset is None)

    @classmethod
    def optional_variables(cls) -> tuple[str, ...]:
        """The variables read when given (set by the construct they name, when it exists)."""
        return tuple(spec.name for _field, spec in cls._fields if spec.when_unset is not None)

    @classmethod
    def from_env(cls) -> Self:
        raw = tuple(os.environ.get(spec.name) for _field, spec in cls._fields)
        kind: Any = cls  # a class is hashable; typeshed's type[Self] does not say so
        built: Self = _built(kind, raw)
        return built


def _hashable(value: Any) -> Any:
    return tuple(sorted(value.items())) if isinstance(value, Mapping) else value


@cache
def _built(kind: Any, raw: tuple[str | None, ...]) -> Any:
    values = {}
    for (name, spec), given in zip(kind._fields, raw, strict=True):
        text = spec.when_unset if given is None else given
        if text is None:
            raise KeyError(spec.name)
        values[name] = spec.read(text)
    return kind(**values)
