"""The ops, one concept per file; importing this package registers every ``addX`` on NetworkHelper."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
