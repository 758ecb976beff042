"""How each kind of model is saved and loaded: modelstore's managers, file for file.

A flavour's ``library`` is modelstore's manager name, and it writes the same files, so
either tool loads what the other saved:

- ``sklearn``: scikit-learn estimators (LightGBM's scikit-learn wrappers too), ``model.joblib``;
- ``xgboost``: ``XGBModel`` and ``Booster``, ``model.xgboost`` (+ ``model.json`` dump and
  ``config.json``);
- ``lightgbm``: ``Booster``, ``model.txt`` (+ ``model.json`` dump);
- ``pytorch``: ``torch.nn.Module``, ``model.pt`` (+ ``checkpoint.pt`` state dicts);
- ``model_file``: ``model="path"``, a file (or, in ferry, a folder) saved beforehand;
- ``ferry.joblib`` / ``ferry.pickle``: any other Python object (ferry only: modelstore can
  download these but not load them).

No ML library is imported unless the model (or the record being loaded) is of its kind.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.errors import ConfigError, NotFoundError
from ferry.models.exceptions import ModelSaveError

__all__ = ["Flavour", "detect", "flavour_named"]

# The modules whose versions each record keeps (modelstore's lists, in its order).
_COMMON = ("pip", "setuptools", "numpy", "scipy", "pandas")
_XGBOOST_DEPS = ("xgboost", *_COMMON, "sklearn")
_LIGHTGBM_DEPS = ("lightgbm", *_COMMON)
_TORCH_DEPS = ("torch", *_COMMON, "torchvision")
_FILE_DEPS = ("pip", "setuptools", "pickle", "joblib")


@dataclass(frozen=True)
class Flavour:
    """A way to save and load one kind of model.

    ``save(model, folder, options)`` writes the model's files into ``folder`` and returns
    them; ``load(folder, type_name)`` reads them back; ``params(model, options)`` is the
    JSON-able parameters for the record; ``dependencies`` the modules whose versions the
    record keeps (modelstore's list).
    """

    library: str
    save: Callable[[Any, Path, Mapping[str, Any]], list[Path]]
    load: Callable[[Path, str | None], Any]
    params: Callable[[Any, Mapping[str, Any]], dict[str, Any]]
    dependencies: tuple[str, ...]


def _root_module(model: Any) -> str:
    return type(model).__module__.split(".")[0]


def _no_params(model: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    return {}


# -- scikit-learn and generic objects ------------------------------------------------------


def _joblib_save(file_name: str) -> Callable[[Any, Path, Mapping[str, Any]], list[Path]]:
    def save(model: Any, folder: Path, options: Mapping[str, Any]) -> list[Path]:
        import joblib

        joblib.dump(model, folder / file_name)
        return [folder / file_name]

    return save


def _joblib_load(file_name: str) -> Callable[[Path, str | None], Any]:
    def load(folder: Path, type_name: str | None) -> Any:
        import joblib

        return joblib.load(folder / file_name)

    return load


def _sklearn_params(model: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    if type(model).__name__ == "Pipeline":  # its params hold whole estimators
        return {}
    try:
        params: dict[str, Any] = model.get_params()
        json.dumps(params)
    except (TypeError, ValueError, AttributeError):
        return {}
    return params


def _pickle_save(model: Any, folder: Path, options: Mapping[str, Any]) -> list[Path]:
    with open(folder / "model.pkl", "wb") as handle:
        pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return [folder / "model.pkl"]


def _pickle_load(folder: Path, type_name: str | None) -> Any:
    with open(folder / "model.pkl", "rb") as handle:
        return pickle.load(handle)


# -- XGBoost ---------------------------------------------------------------------------------


def _xgboost_save(model: Any, folder: Path, options: Mapping[str, Any]) -> list[Path]:
    booster = model if type(model).__name__ == "Booster" else model.get_booster()
    # modelstore's file name; XGBoost warns about the extension, so name the format first.
    model.save_model(str(folder / "model.ubj"))
    (folder / "model.ubj").rename(folder / "model.xgboost")
    booster.dump_model(str(folder / "model.json"), with_stats=True, dump_format="json")
    (folder / "config.json").write_text(json.dumps(booster.save_config()))
    return [folder / "model.xgboost", folder / "model.json", folder / "config.json"]


def _xgboost_load(folder: Path, type_name: str | None) -> Any:
    import xgboost

    classes = {
        "XGBRegressor": xgboost.XGBRegressor,
        "XGBClassifier": xgboost.XGBClassifier,
        "XGBRanker": xgboost.XGBRanker,
        "XGBModel": xgboost.XGBModel,
        "Booster": xgboost.Booster,
    }
    if type_name not in classes:
        raise ConfigError(
            f"Cannot load an XGBoost model of type {type_name!r}.",
            f"Known types: {', '.join(classes)}; download() gives its files.",
        )
    model = classes[type_name]()
    model.load_model(bytearray((folder / "model.xgboost").read_bytes()))  # format from content
    return model


def _xgboost_params(model: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    if type(model).__name__ == "Booster":
        return {}
    params: dict[str, Any] = model.get_xgb_params()
    return params


# -- LightGBM ----------------------------------------------------------------------------------


def _lightgbm_save(model: Any, folder: Path, options: Mapping[str, Any]) -> list[Path]:
    model.save_model(str(folder / "model.txt"))
    (folder / "model.json").write_text(json.dumps(model.dump_model()))
    return [folder / "model.txt", folder / "model.json"]


def _lightgbm_load(folder: Path, type_name: str | None) -> Any:
    import lightgbm

    return lightgbm.Booster(model_file=str(folder / "model.txt"))


def _lightgbm_params(model: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    return dict(model.params)


# -- PyTorch -----------------------------------------------------------------------------------


def _torch_save(model: Any, folder: Path, options: Mapping[str, Any]) -> list[Path]:
    import torch

    state = {"model_state_dict": model.state_dict()}
    if options.get("optimizer") is not None:
        state["optimizer_state_dict"] = options["optimizer"].state_dict()
    torch.save(state, folder / "checkpoint.pt")
    torch.save(model, folder / "model.pt")
    return [folder / "checkpoint.pt", folder / "model.pt"]


def _torch_load(folder: Path, type_name: str | None) -> Any:
    import torch

    return torch.load(folder / "model.pt", weights_only=False)  # the user's own archive


def _torch_params(model: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    optimizer = options.get("optimizer")
    if optimizer is None:
        return {}
    from ferry.models.metadata import plain

    params: dict[str, Any] = plain(optimizer.state_dict())
    return params


# -- files saved beforehand ---------------------------------------------------------------------


def _file_save(model: Any, folder: Path, options: Mapping[str, Any]) -> list[Path]:
    source = Path(model)
    target = folder / source.name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)
    return [target]


def _file_load(folder: Path, type_name: str | None) -> Any:
    raise ConfigError(
        "This model was uploaded as a file (model='path'), which cannot be loaded into memory.",
        "Use download(local_path, domain, model_id) to get the file.",
    )


FLAVOURS = {
    f.library: f
    for f in (
        Flavour(
            "sklearn",
            _joblib_save("model.joblib"),
            _joblib_load("model.joblib"),
            _sklearn_params,
            ("sklearn", *_COMMON, "Cython", "joblib", "threadpoolctl"),
        ),
        Flavour("xgboost", _xgboost_save, _xgboost_load, _xgboost_params, _XGBOOST_DEPS),
        Flavour("lightgbm", _lightgbm_save, _lightgbm_load, _lightgbm_params, _LIGHTGBM_DEPS),
        Flavour("pytorch", _torch_save, _torch_load, _torch_params, _TORCH_DEPS),
        Flavour("model_file", _file_save, _file_load, _no_params, _FILE_DEPS),
        Flavour(
            "ferry.joblib",
            _joblib_save("model.joblib"),
            _joblib_load("model.joblib"),
            _no_params,
            ("pip", "joblib"),
        ),
        Flavour("ferry.pickle", _pickle_save, _pickle_load, _no_params, ("pickle",)),
    )
}


def detect(model: Any) -> Flavour:
    """The flavour for ``model``, from its type (no library is imported to find out)."""
    if isinstance(model, (str, os.PathLike)):
        if not Path(model).exists():
            raise NotFoundError(
                f"model={str(model)!r} is not a file or folder.",
                "Pass a model object, or the path of a file saved beforehand.",
            )
        return FLAVOURS["model_file"]
    module, name = _root_module(model), type(model).__name__
    if module == "xgboost" and _is(model, "xgboost", "XGBModel", "Booster"):
        return FLAVOURS["xgboost"]
    if module == "lightgbm" and name == "Booster":
        return FLAVOURS["lightgbm"]
    if _is(model, "torch", "nn.Module") and module not in {"pytorch_lightning", "transformers"}:
        return FLAVOURS["pytorch"]
    if _is(model, "sklearn.base", "BaseEstimator"):
        return FLAVOURS["sklearn"]
    try:
        import joblib  # noqa: F401
    except ImportError:
        return FLAVOURS["ferry.pickle"]
    return FLAVOURS["ferry.joblib"]


def _is(model: Any, module_name: str, *class_paths: str) -> bool:
    """Whether ``model`` is an instance of one of the classes (only if already imported)."""
    module = sys.modules.get(module_name)
    if module is None:
        return False
    for path in class_paths:
        cls: Any = module
        for part in path.split("."):
            cls = getattr(cls, part, None)
        if isinstance(cls, type) and isinstance(model, cls):
            return True
    return False


def flavour_named(library: str) -> Flavour:
    """The flavour that loads a record's ``model_type.library``."""
    try:
        return FLAVOURS[library]
    except KeyError:
        raise ConfigError(
            f"This model was saved by modelstore's {library!r} manager, which ferry cannot load.",
            f"ferry loads: {', '.join(FLAVOURS)}; download() gives its files.",
        ) from None


def save(flavour: Flavour, model: Any, folder: Path, options: Mapping[str, Any]) -> list[Path]:
    """Save ``model`` by ``flavour``; an object that cannot be saved is a ``ModelSaveError``."""
    try:
        return flavour.save(model, folder, options)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        kind = f"{type(model).__module__}.{type(model).__qualname__}"
        raise ModelSaveError(
            f"Could not save the model ({kind}) as {flavour.library}: {exc}.",
            "Make it picklable (no open files, locks, lambdas or local classes inside), "
            "or save it yourself and upload model='path/to/file'.",
        ) from exc
