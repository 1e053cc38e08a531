"""One generic registry: duplicates fail loudly, misses suggest the closest names."""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, cast

from dataperf.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of objects of one sort (challenge kinds, models, metrics, ...)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        """Register ``item`` under ``name`` and return it; raise RegistryError on a duplicate."""
        if name in self._items:
            raise RegistryError(f"{self.what} '{name}' is registered twice")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Return a decorator that registers its target under ``name``."""

        def deco(item: T) -> T:
            return self.add(name, item)

        return deco

    def get(self, name: str) -> T:
        """Return the item named ``name``; raise RegistryError with suggestions on a miss."""
        try:
            return self._items[name]
        except KeyError:
            raise RegistryError(self.miss_message(name)) from None

    def miss_message(self, name: str) -> str:
        """Return the error text for an unknown ``name``, with 'did you mean' hints."""
        close = difflib.get_close_matches(name, list(self._items), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(sorted(self._items)) or "(none)"
        return f"unknown {self.what} '{name}'.{hint} Known: {known}."

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


class PluginRegistry(Registry[T]):
    """A registry filled on first use (never at import) by the modules of one package and by
    the Python entry points of one group, so an item can ship in a package of its own.

    An entry point names either a module (importing it registers its items, as the built-in
    modules do) or the object itself (registered under the entry point's name; a class is
    instantiated first where the registry holds instances). A broken entry point is an error naming it, never skipped.
    """

    def __init__(
        self, what: str, package: str | None = None, group: str | None = None, *, instantiate: bool = False
    ) -> None:
        super().__init__(what)
        self.package = package
        self.group = group
        self.instantiate = instantiate
        """Whether an entry point naming a class registers an instance of it."""
        self._loaded = False
        self._loading = False
        self._lock = threading.RLock()

    def _load(self) -> None:
        # Marked loaded only once every module and entry point is in: another thread asking
        # meanwhile waits for the lock instead of seeing a half-filled registry (a module being
        # imported by this very thread may ask again, and gets what is registered so far).
        if self._loaded:
            return
        with self._lock:
            if self._loaded or self._loading:
                return
            self._loading = True
            try:
                self._load_all()
                self._loaded = True
            finally:
                self._loading = False

    def _load_all(self) -> None:
        import importlib
        import importlib.metadata
        import inspect
        import pkgutil

        if self.package is not None:
            pkg = importlib.import_module(self.package)
            for mod in pkgutil.iter_modules(pkg.__path__):
                if not mod.name.startswith("_"):
                    importlib.import_module(f"{self.package}.{mod.name}")
        if self.group is None:
            return
        for ep in sorted(importlib.metadata.entry_points(group=self.group), key=lambda e: e.name):
            try:
                obj = ep.load()
            except Exception as e:
                raise RegistryError(f"{self.what} entry point '{ep.name} = {ep.value}' does not load: {e}") from e
            if inspect.ismodule(obj):
                continue
            self.add(ep.name, cast(T, obj() if self.instantiate and inspect.isclass(obj) else obj))

    def get(self, name: str) -> T:
        """Return the item ``name``; raise RegistryError with suggestions if unknown."""
        self._load()
        return super().get(name)

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        self._load()
        return super().names()

    def __contains__(self, name: object) -> bool:
        self._load()
        return super().__contains__(name)

    def __len__(self) -> int:
        self._load()
        return super().__len__()
