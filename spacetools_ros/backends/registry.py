"""A name -> lazily imported factory registry: one instance per capability (pointing, segmentation,
depth, grasp, policy, motion), so that a parameter string chooses the backend in one place."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ..core.errors import ConfigError

T = TypeVar("T")

Factory = Callable[..., Any]


class Registry(Generic[T]):
    """Backends of one capability by name.

    A factory is a callable or a ``"package.module:attribute"`` string that is imported only when
    that backend is built (heavy libraries stay out of the process until they are chosen). Every
    instance built through ``create`` carries the registry name it was built under as ``name``.

    Args:
        capability: what the backends do (used in error messages, e.g. "segmentation").
        factories: initial name -> factory entries, in the order they are listed to users.
    """

    def __init__(self, capability: str, factories: dict[str, Factory | str] | None = None) -> None:
        self.capability = capability
        self._factories: dict[str, Factory | str] = {}
        for name, factory in (factories or {}).items():
            self.register(name, factory)

    def register(self, name: str, factory: Factory | str) -> None:
        """Add (or replace) a backend.

        Args:
            name: the name a parameter uses to choose it.
            factory: a callable returning the backend, or ``"module:attribute"`` naming one.

        Raises:
            ValueError: an empty name, or a factory string without ``:``.
        """
        if not isinstance(name, str) or not name:
            raise ValueError("a backend name must be a non-empty string")
        if isinstance(factory, str) and ":" not in factory:
            raise ValueError(f"factory {factory!r} must be 'package.module:attribute'")
        self._factories[name] = factory

    def names(self) -> tuple[str, ...]:
        """The known backend names, in registration order."""
        return tuple(self._factories)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._factories

    def check(self, name: object) -> str:
        """``name`` when it is a known backend.

        Raises:
            ConfigError: an unknown name; the message lists the known ones.
        """
        if name not in self:
            shown = repr(name)[:60]
            raise ConfigError(f"unknown {self.capability} backend {shown} (one of: {', '.join(self._factories)})")
        return name  # type: ignore[return-value]

    def factory(self, name: str) -> Factory:
        """The factory of a backend, imported now if it was named by a string.

        Raises:
            ConfigError: an unknown name.
        """
        target = self._factories[self.check(name)]
        if callable(target):
            return target
        module, _, attr = target.partition(":")
        fn: Any = importlib.import_module(module)
        for part in attr.split("."):
            fn = getattr(fn, part)
        self._factories[name] = fn
        return fn

    def create(self, name: str, /, **kwargs: Any) -> T:
        """Build the backend ``name`` with the factory's keyword arguments.

        Raises:
            ConfigError: an unknown name, an option the factory does not take, or (from the factory)
                what the backend is missing to start.
        """
        fn = self.factory(name)
        check_options(fn, kwargs, f"{self.capability} backend {name!r}")
        obj = fn(**kwargs)
        try:
            obj.name = name
        except AttributeError:  # a class attribute that cannot be set must already say it
            if getattr(obj, "name", None) != name:
                raise
        return obj


def check_options(fn: Callable[..., Any], kwargs: dict[str, Any], what: str) -> None:
    """Refuse keyword options that ``fn`` does not take (a typo in a config must not pass unseen).

    Raises:
        ConfigError: naming the options ``fn`` does not accept and the ones it does.
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: let the call decide
        return
    params = sig.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    known = [p.name for p in params if p.kind in (inspect.Parameter.KEYWORD_ONLY,
                                                  inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise ConfigError(f"{what} takes no option {', '.join(map(str, unknown))[:120]} "
                          f"(its options: {', '.join(known) or 'none'})")
