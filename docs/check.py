"""Build pyconvx's documentation and check the result; exit status 1 on any failure.

    python docs/check.py                     clean build with -W, then every check
    python docs/check.py --incremental       reuse the previous build's state
    python docs/check.py --skip-screenshots  no browser (says so in its output)
    python docs/check.py --docstrings        only list public docstrings that lack
                                             numpydoc sections (report, never fails)

The checks:

1. ``sphinx-build -W --keep-going -b html`` succeeds (warnings are errors).
2. Every name in ``pyconvx.__all__``, in the ``__all__`` of its submodules
   (``pyconvx.kernels``, ``pyconvx.ndimage``) and of ``pyconvx.dask`` and
   ``pyconvx.torch``, and every public function of ``pyconvx.kernels``, has an
   entry (an HTML anchor) in the built API reference.
3. Headless Chromium screenshots of the front page and of a gallery page
   (into ``docs/_build/screenshots``) are not blank, and the gallery page's
   shows a picture: enough tiles of many distinct colours.  The HTML of both
   pages holds their titles, and the gallery page's pictures exist.

Chromium is looked up as ``$CHROMIUM``, then ``chromium``, ``chromium-browser``,
``google-chrome`` and ``chrome-headless-shell`` on the PATH.
"""

import argparse
import dataclasses
import inspect
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
BUILD = DOCS / "_build" / "html"
SCREENSHOTS = DOCS / "_build" / "screenshots"
GENERATED = [DOCS / "_build", DOCS / "api" / "generated", DOCS / "auto_examples"]

sys.path.insert(0, str(DOCS / "_ext"))
import api_listing

FRONT_PAGE = ("index.html", "pyconvx: fast, strict N-d convolution for NumPy")
GALLERY_PAGE = ("auto_examples/filtering/plot_edge_detection.html",
                "Edge detection on a photograph")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome-headless-shell")

#: A screenshot is blank when fewer of its pixels than this differ from the background.
MIN_INK_FRACTION = 0.02
#: A 32x32 tile "shows a picture" when it holds at least this many distinct colours
#: (text, code and flat page elements stay far below).
PICTURE_TILE_COLOURS = 200
#: A screenshot shows a picture when at least this many tiles do.
MIN_PICTURE_TILES = 40


class CheckFailed(Exception):
    """A check that did not pass; the message says which and why."""


def build(clean):
    if clean:
        for path in GENERATED:
            shutil.rmtree(path, ignore_errors=True)
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
               str(DOCS), str(BUILD)]
    # Run from docs/ so that a source checkout in the current folder cannot
    # shadow an installed pyconvx.
    started = time.perf_counter()
    result = subprocess.run(command, cwd=DOCS, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise CheckFailed(f"sphinx-build failed (exit status {result.returncode}); "
                          "its warnings are above")
    return elapsed


def expected_anchors(pyconvx):
    """HTML ids the API reference must hold, by the public name they document.

    Every name of ``pyconvx.__all__``; every public name of its submodules
    (``pyconvx.kernels``, ``pyconvx.ndimage``: their ``__all__``, and every
    public function of ``pyconvx.kernels``) and of the modules that need an
    optional dependency (``api_listing.OPTIONAL_MODULES``: their ``__all__``),
    and those modules themselves.
    """
    anchors = {}
    modules = []
    for name in pyconvx.__all__:
        value = getattr(pyconvx, name)
        if inspect.ismodule(value):
            modules.append(value)
        anchors[f"pyconvx.{name}"] = (f"module-{value.__name__}" if inspect.ismodule(value)
                                      else f"pyconvx.{name}")
    for module in api_listing.optional_modules():
        modules.append(module)
        anchors[module.__name__] = f"module-{module.__name__}"
    for module in modules:
        for name in api_listing.public_module_names(module):
            anchors[f"{module.__name__}.{name}"] = f"{module.__name__}.{name}"
    kernels = pyconvx.kernels
    for name, value in vars(kernels).items():
        if (inspect.isfunction(value) and not name.startswith("_")
                and value.__module__ == kernels.__name__):
            anchors[f"pyconvx.kernels.{name}"] = f"pyconvx.kernels.{name}"
    return dict(sorted(anchors.items()))


def check_api_reference(pyconvx):
    found = set()
    for page in (BUILD / "api").rglob("*.html"):
        found.update(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))
    anchors = expected_anchors(pyconvx)
    missing = sorted(name for name, anchor in anchors.items() if anchor not in found)
    if missing:
        raise CheckFailed(f"not in the built API reference: {', '.join(missing)}")
    return len(anchors)


def find_browser():
    candidates = [os.environ["CHROMIUM"]] if os.environ.get("CHROMIUM") else list(BROWSERS)
    for candidate in candidates:
        path = shutil.which(candidate)
        if path:
            return path
    raise CheckFailed(f"no headless Chromium found (tried {', '.join(candidates)}); install "
                      "Debian's 'chromium' package or set CHROMIUM to the browser's path")


def screenshot(browser, page, target, height):
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
                   f"--window-size=1280,{height}", "--virtual-time-budget=5000",
                   f"--screenshot={target}", page.as_uri()]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180,
                                check=False)
    if not target.exists():
        raise CheckFailed(f"{browser} wrote no screenshot of {page} (exit status "
                          f"{result.returncode}): {result.stderr.strip()[-2000:]}")
    return target


def picture_stats(path):
    """(share of non-background pixels, tiles of many colours) of a screenshot."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(path).convert("RGB")).astype(np.int32)
    codes = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    values, counts = np.unique(codes, return_counts=True)
    background = values[np.argmax(counts)]
    background_rgb = np.array([background >> 16, (background >> 8) & 255, background & 255])
    ink = float((np.abs(pixels - background_rgb).max(axis=-1) > 24).mean())
    tile = 32
    height, width = codes.shape
    picture_tiles = sum(
        len(np.unique(codes[y:y + tile, x:x + tile])) >= PICTURE_TILE_COLOURS
        for y in range(0, height - tile + 1, tile) for x in range(0, width - tile + 1, tile))
    return ink, picture_tiles


def check_page_html(relative, title):
    page = BUILD / relative
    if not page.exists():
        raise CheckFailed(f"{relative} was not built")
    text = page.read_text(encoding="utf-8")
    if title not in text.replace("&#8217;", "'"):
        raise CheckFailed(f"{relative} does not hold its title {title!r}")
    return page, text


def check_pages(browser):
    lines = []
    front, _ = check_page_html(*FRONT_PAGE)
    gallery, gallery_html = check_page_html(*GALLERY_PAGE)
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', gallery_html)
    if not images:
        raise CheckFailed(f"{GALLERY_PAGE[0]} has no <img> of a PNG picture")
    for source in images:
        if not (gallery.parent / source).resolve().is_file():
            raise CheckFailed(f"{GALLERY_PAGE[0]} shows {source}, which was not built")
    for page, name, height, need_picture in ((front, "front", 1400, False),
                                             (gallery, "gallery", 2600, True)):
        shot = screenshot(browser, page, SCREENSHOTS / f"{name}.png", height)
        ink, picture_tiles = picture_stats(shot)
        lines.append(f"screenshot {shot.relative_to(DOCS.parent)}: {ink:.1%} of pixels "
                     f"non-background, {picture_tiles} picture tiles")
        if ink < MIN_INK_FRACTION:
            raise CheckFailed(f"the screenshot of {page.name} is blank ({ink:.2%} of pixels "
                              f"differ from the background, need {MIN_INK_FRACTION:.0%})")
        if need_picture and picture_tiles < MIN_PICTURE_TILES:
            raise CheckFailed(f"the screenshot of {page.name} shows no picture "
                              f"({picture_tiles} picture tiles, need {MIN_PICTURE_TILES})")
    return lines


# -- the docstring report ------------------------------------------------------

#: numpydoc validation codes the report lists: a missing docstring or summary,
#: undocumented or unknown parameters, a missing or bare Returns section, and
#: a missing Examples section.
REPORTED_CODES = {"GL08", "SS01", "PR01", "PR02", "RT01", "RT03", "EX01"}

#: Words that point outside the project; a docstring should not use them.
OUTSIDE_WORDS = re.compile(r"\bseeds'|\bthe seeds\b")


def public_objects(pyconvx):
    """(name, object) of every public function, class, method and property."""
    objects = []
    for module in api_listing.optional_modules():
        objects.append((module.__name__, module))
        objects += [(f"{module.__name__}.{n}", getattr(module, n))
                    for n in api_listing.public_module_names(module)]
    for name in pyconvx.__all__:
        value = getattr(pyconvx, name)
        if inspect.ismodule(value):
            objects.append((value.__name__, value))
            objects += [(f"{value.__name__}.{n}", getattr(value, n))
                        for n in api_listing.public_module_names(value)]
        elif inspect.isclass(value) or inspect.isfunction(value):
            objects.append((f"pyconvx.{name}", value))
        if inspect.isclass(value):
            for member in dir(value):
                if member.startswith("_") and member != "__call__":
                    continue
                static = inspect.getattr_static(value, member)
                if isinstance(static, property) or inspect.isfunction(static):
                    objects.append((f"pyconvx.{name}.{member}", getattr(value, member)))
    return objects


def docstring_report(pyconvx):
    from numpydoc.docscrape import ClassDoc
    from numpydoc.validate import validate

    problems = []
    for name, value in public_objects(pyconvx):
        notes = []
        if not inspect.ismodule(value):
            attributes = set()
            if inspect.isclass(value):
                attributes = {a.name for a in ClassDoc(value, config={})["Attributes"]}
            if dataclasses.is_dataclass(value):
                # Fields left out of the repr are internal (the engine's tables).
                attributes |= {f.name for f in dataclasses.fields(value) if not f.repr}
            for code, message in validate(name)["errors"]:
                if code not in REPORTED_CODES:
                    continue
                if code == "PR01" and inspect.isclass(value):
                    undocumented = set(re.findall(r"'\*{0,2}(\w+)'", message)) - attributes
                    if not undocumented:
                        continue  # documented as Attributes (a dataclass's fields)
                notes.append(f"{code} {message}")
        doc = inspect.getdoc(value) or ""
        notes.extend(f"points outside the project: {line.strip()!r}"
                     for line in doc.splitlines() if OUTSIDE_WORDS.search(line))
        if notes:
            problems.append((name, notes))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incremental", action="store_true",
                        help="keep the previous build (faster; may hide warnings of "
                             "unchanged pages)")
    parser.add_argument("--skip-screenshots", action="store_true",
                        help="do not take or check screenshots")
    parser.add_argument("--docstrings", action="store_true",
                        help="only report docstrings missing numpydoc sections")
    args = parser.parse_args(argv)
    pyconvx = api_listing.import_package("pyconvx")
    if args.docstrings:
        problems = docstring_report(pyconvx)
        for name, notes in problems:
            print(name)
            for note in notes:
                print(f"    {note}")
        print(f"{len(problems)} public docstrings with something to fix")
        return 0
    started = time.perf_counter()
    try:
        build_seconds = build(clean=not args.incremental)
        kind = "incremental" if args.incremental else "clean"
        print(f"docs check: built in {build_seconds:.1f} s ({kind})")
        count = check_api_reference(pyconvx)
        print(f"docs check: all {count} public names are in the API reference "
              f"(pyconvx from {Path(pyconvx.__file__).parent})")
        if args.skip_screenshots:
            print("docs check: screenshots SKIPPED (--skip-screenshots)")
        else:
            for line in check_pages(find_browser()):
                print(f"docs check: {line}")
    except CheckFailed as failure:
        print(f"docs check: FAILED: {failure}", file=sys.stderr)
        return 1
    print(f"docs check: passed in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
