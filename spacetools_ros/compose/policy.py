"""Which policy: a name from the policy registry plus the settings the CLI and the agent node give
(a server URL and a model name or checkpoint folder), turned into the chosen backend's options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..backends.policy.base import PolicyBackend
from ..backends.policy.registry import POLICIES


@dataclass(frozen=True)
class PolicyConfig:
    """What the user chose.

    Attributes:
        name: a name in ``POLICIES`` (scripted | openai | local).
        url: openai: the server's base URL (None: from the settings file).
        model: openai: the served model's name (None: from the settings file); local: the checkpoint folder.
        settings_file: openai: its settings (None: config/policy_openai.yaml).
    """

    name: str = "scripted"
    url: str | None = None
    model: str | None = None
    settings_file: str | None = None


# policy name -> its factory's keyword options from the user's choice (names not listed take none)
_OPTIONS: dict[str, Callable[[PolicyConfig], dict[str, Any]]] = {
    "openai": lambda c: {"path": c.settings_file, "base_url": c.url, "model": c.model},
    "local": lambda c: {"model_dir": c.model},
}


def policy_options(config: PolicyConfig) -> dict[str, Any]:
    """The chosen policy factory's keyword options (empty strings, as ROS parameters give them, are unset).

    Raises:
        ConfigError: an unknown policy name (listing the known ones).
    """
    POLICIES.check(config.name)
    options = _OPTIONS.get(config.name, lambda c: {})(config)
    return {k: (v or None) for k, v in options.items()}


def make_policy(name: str, url: str | None = None, model: str | None = None,
                settings_file: str | None = None) -> PolicyBackend:
    """A policy backend by name (its ``name`` attribute is that name).

    Args:
        name: scripted | openai | local (``POLICIES.names()``).
        url: openai: server base URL overriding the settings file's.
        model: openai: served model name overriding the settings file's; local: checkpoint folder.
        settings_file: openai: settings file (default config/policy_openai.yaml).

    Raises:
        ConfigError: an unknown name, or a backend that cannot start (no checkpoint folder for
            ``local``, a bad settings file for ``openai``).
    """
    config = PolicyConfig(name, url, model, settings_file)
    return POLICIES.create(config.name, **policy_options(config))
