"""The settings table: for every built-in backend, each variant's path (stock, expert or study) and every setting it
changes from the library's defaults, with the document in the backend's own repository that recommends it. Read
from the adapters' declarations (backends/base.py: Backend.variant_settings), the same ones every record carries in
details["settings"], so the docs and the site cannot drift from what ran."""

from __future__ import annotations

from backends import BACKEND_MODULES, EXPERT, STOCK, STUDY, get_backend

HEADER = ["backend", "variant", "path", "setting", "value", "source", "what it changes"]


def _path(backend_name: str, variant: str) -> str:
    backend = get_backend(backend_name)
    if variant in backend.study_variants:
        return STUDY
    if variant in backend.expert_variants:
        return EXPERT
    # A backend whose expert variants apply to some workloads only: elsewhere its defaults are the experts' path.
    return f"{STOCK} ({EXPERT} where no {EXPERT} variant applies)" if backend.expert_variants else f"{STOCK} = {EXPERT}"


def settings_rows() -> list[list[str]]:
    """One row per setting of a variant; a variant that changes nothing gets one row saying so."""
    rows = []
    for name in BACKEND_MODULES:
        backend = get_backend(name)
        declared = backend.expert_variants or backend.variant_settings
        if not declared:
            continue  # a backend that declares nothing runs its library's defaults only: nothing to list
        for variant in backend.variants:
            settings = backend.variant_settings.get(variant, ())
            path = _path(name, variant)
            if not settings:
                rows.append([name, variant, path, "(library defaults)", "", "", ""])
            for s in settings:
                rows.append([name, variant, path, s.name, s.value, s.source, s.effect])
    return rows
