"""How each kind of model is saved and loaded, chosen from the object itself.

- ``sklearn``: scikit-learn estimators, saved with joblib;
- ``xgboost`` / ``lightgbm``: boosters in their own formats (when those libraries are
  installed; their scikit-learn wrappers go through joblib like any estimator);
- ``pytorch``: ``torch.nn.Module`` with ``torch.save`` (when torch is installed);
- ``joblib``: anything else joblib can save (when joblib is installed), else ``pickle``.

No ML library is imported unless the model (or the archive being loaded) is of its kind.
"""

from __future__ import annotations

import pickle
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from ferry.errors import ConfigError

__all__ = ["Flavour", "detect", "flavour_named", "library_versions"]


@dataclass(frozen=True)
class Flavour:
    """A way to save and load one kind of model."""

    name: str
    file_name: str
    libraries: tuple[str, ...]
    save: Callable[[Any, Path], None]
    load: Callable[[Path], Any]


def _module(model: Any) -> str:
    return type(model).__module__.split(".")[0]


def _joblib_save(model: Any, path: Path) -> None:
    import joblib

    joblib.dump(model, path)


def _joblib_load(path: Path) -> Any:
    import joblib

    return joblib.load(path)


def _pickle_save(model: Any, path: Path) -> None:
    with open(path, "wb") as handle:
        pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _pickle_load(path: Path) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)


def _xgboost_load(path: Path) -> Any:
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(str(path))
    return booster


def _lightgbm_load(path: Path) -> Any:
    import lightgbm

    return lightgbm.Booster(model_file=str(path))


def _torch_save(model: Any, path: Path) -> None:
    import torch

    torch.save(model, path)


def _torch_load(path: Path) -> Any:
    import torch

    return torch.load(path, weights_only=False)  # the user's own model archive


FLAVOURS = {
    f.name: f
    for f in (
        Flavour("sklearn", "model.joblib", ("scikit-learn", "joblib"), _joblib_save, _joblib_load),
        Flavour(
            "xgboost", "model.ubj", ("xgboost",), lambda m, p: m.save_model(str(p)), _xgboost_load
        ),
        Flavour(
            "lightgbm",
            "model.txt",
            ("lightgbm",),
            lambda m, p: m.save_model(str(p)),
            _lightgbm_load,
        ),
        Flavour("pytorch", "model.pt", ("torch",), _torch_save, _torch_load),
        Flavour("joblib", "model.joblib", ("joblib",), _joblib_save, _joblib_load),
        Flavour("pickle", "model.pkl", (), _pickle_save, _pickle_load),
    )
}


def detect(model: Any) -> Flavour:
    """The flavour for ``model``, from its type (no library is imported to find out)."""
    module = _module(model)
    name = type(model).__name__
    if module == "sklearn":
        return FLAVOURS["sklearn"]
    if module == "xgboost" and name == "Booster":
        return FLAVOURS["xgboost"]
    if module == "lightgbm" and name == "Booster":
        return FLAVOURS["lightgbm"]
    if "torch" in sys.modules and isinstance(model, sys.modules["torch"].nn.Module):
        return FLAVOURS["pytorch"]
    try:
        import joblib  # noqa: F401
    except ImportError:
        return FLAVOURS["pickle"]
    return FLAVOURS["joblib"]


def flavour_named(name: str) -> Flavour:
    try:
        return FLAVOURS[name]
    except KeyError:
        raise ConfigError(
            f"This model was saved as {name!r}, which ferry cannot load.",
            f"Known flavours: {', '.join(FLAVOURS)}.",
        ) from None


def library_versions(flavour: Flavour, model: Any) -> dict[str, str]:
    """Python's and the relevant libraries' versions, for the model's record."""
    versions = {"python": platform.python_version()}
    names = {*flavour.libraries, _distribution(_module(model))}
    for name in sorted(n for n in names if n):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _distribution(module: str) -> str:
    return {"sklearn": "scikit-learn", "builtins": ""}.get(module, module)
