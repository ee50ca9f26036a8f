"""A registry of named extensions (source kinds, digest formats): each is registered by
the module that defines it, and found by importing a package's modules and a plugin
entry-point group, once, when first asked for. Nothing else names them."""

from __future__ import annotations

import importlib
import pkgutil
import threading
from importlib.metadata import entry_points
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, package: str, group: str, skip: tuple[str, ...] = ()) -> None:
        self.package, self.group, self.skip = package, group, skip
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()
        self._discovering = threading.RLock()  # a module may ask while being discovered
        self._discovered = False

    def register(self, name: str, item: T) -> T:
        with self._lock:
            self._items[name] = item
        return item

    def registered(self) -> dict[str, T]:
        """What is registered so far, in registration order."""
        with self._lock:
            return dict(self._items)

    def all(self) -> dict[str, T]:
        """Everything, after importing the package's modules and the plugins once."""
        with self._discovering:
            if not self._discovered:
                package = importlib.import_module(self.package)
                for module in pkgutil.iter_modules(package.__path__):
                    if module.name not in self.skip:
                        importlib.import_module(f"{self.package}.{module.name}")
                for point in entry_points(group=self.group):
                    point.load()
                self._discovered = True
        return self.registered()
