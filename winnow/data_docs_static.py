"""Great Expectations Data Docs, styled offline.

The pages GE renders link Bootstrap, jQuery, Font Awesome, bootstrap-table and Vega from
CDNs, so on a machine without the internet they render unstyled. ``scripts/setup.sh``
installs those exact files from the npm registry (``scripts/gx-static/package.json``);
``localize`` copies the ones a site uses into ``<site>/static/vendor/`` and points every
page at them.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

#: CDN address -> file under the installed node_modules (the versions GE 1.24 asks for)
CDN_FILES: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/dist/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/dist/js/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js/dist/umd/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "@fortawesome/fontawesome-free/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "@forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed/build/vega-embed.min.js",
}  # fmt: skip
#: folders copied whole, because a stylesheet in them loads its neighbours (Font Awesome's fonts)
WHOLE = ("@fortawesome/fontawesome-free/webfonts",)
_LINK = re.compile(r'(href|src)="(https://[^"]+)"')
#: GE links its logos from S3 (with a timestamp); its long logo ships inside the package
_LOGO = re.compile(r"https://great-expectations-web-assets\.[^\"')\s]*\.png[^\"')\s]*")
LOGO = "great_expectations/logo-long.png"


def _ge_logo() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("great_expectations")
    if spec is None or not spec.submodule_search_locations:
        return None
    logo = Path(spec.submodule_search_locations[0]) / "render" / "view" / "static" / "images" / "logo-long.png"
    return logo if logo.is_file() else None


def installed(node_modules: Path | None) -> bool:
    return node_modules is not None and all((node_modules / f).is_file() for f in CDN_FILES.values())


def _vendor(site: Path, node_modules: Path) -> Path:
    """Copy the files once per site (cheap: about 3 MB)."""
    vendor = site / "static" / "vendor"
    stamp = vendor / ".complete"
    if not stamp.exists():
        for rel in CDN_FILES.values():
            (vendor / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(node_modules / rel, vendor / rel)
        for rel in WHOLE:
            shutil.copytree(node_modules / rel, vendor / rel, dirs_exist_ok=True)
        logo = _ge_logo()
        if logo is not None:
            (vendor / LOGO).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(logo, vendor / LOGO)
        stamp.write_text("ok\n")
    return vendor


def localize(site: Path, node_modules: Path | None) -> int:
    """Point every page of the Data Docs site ``site`` at local copies; returns how many links changed.

    Without the installed files (no npm at setup) the pages keep their CDN links.
    """
    if not installed(node_modules) or not site.is_dir():
        return 0
    assert node_modules is not None
    vendor = _vendor(site, node_modules)
    changed = 0
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        rel = Path(os.path.relpath(vendor, page.parent))

        def local(m: re.Match, rel: Path = rel) -> str:
            target = CDN_FILES.get(m.group(2))
            return f'{m.group(1)}="{(rel / target).as_posix()}"' if target else m.group(0)

        n = sum(1 for m in _LINK.finditer(html) if m.group(2) in CDN_FILES)
        new = _LINK.sub(local, html)
        if (vendor / LOGO).is_file():
            new, logos = _LOGO.subn((rel / LOGO).as_posix(), new)
            n += logos
        if n:
            page.write_text(new, encoding="utf-8")
            changed += n
    return changed
