"""The ``pyconvx`` command (also ``python -m pyconvx``).

Subcommands::

    pyconvx info                      version, OpenMP, SIMD level, threads
    pyconvx demo [--out DIR]          the tutorial's worked examples + PNG pictures
    pyconvx filter IN OUT --kernel NAME | --kernel NAME:VALUE | --kernel-file FILE
                  [--mode same|valid|full] [--boundary symmetric|reflect|replicate|...]
                  [--scale auto|clip|abs|minmax]
    pyconvx bench [--quick] [--threads N] [--dev] [--only NAME] [--plot FILE]
    pyconvx bench --sweep [--models MODEL ...] [--batch N ...] [--isa avx2] ...

Images are read and written with Pillow, and 16-bit PNGs with colour or
alpha with pypng (Pillow reads those at 8 bits per channel and cannot write
them); both are the optional extra ``pip install 'pyconvx[image]'``.  Plots
need matplotlib, ``pyconvx[plot]``.

How ``filter`` writes its pictures (``--scale``), on the input's range
(0..255, or 0..65535 for a 16-bit PNG, written at 16 bits per channel):

* ``clip``: the result is on the input's scale; it is rounded and clipped
  (right for blurs, sharpen, identity, emboss).
* ``abs``: ``|result|`` scaled so that its maximum is the top of the range
  (right for signed responses: edge detectors, the Laplacian).
* ``minmax``: the range ``[min, max]`` stretched onto the picture's range.
* ``auto`` (default): ``abs`` when the kernel's weights sum to 0 (a
  derivative filter), ``clip`` otherwise.

Grayscale images stay grayscale; colour images (palette and CMYK ones
converted to RGB) are filtered per channel as RGB.  An alpha channel is kept
as it is: only the colour is filtered.  The border is mirrored by default
(``--boundary symmetric``), so blurs and edge detectors draw no frame.
A 16-bit PNG (grayscale, grayscale + alpha, RGB or RGBA) is filtered and
written at 16 bits per channel, in its own colour type.
``--kernel gaussian:SIGMA`` sizes a Gaussian from its sigma (radius
``int(4 * sigma + 0.5)``, as scipy.ndimage).  The command ends with one
line saying what it did: kernel, border, channels, bit depth.

Every failure the user can cause (a bad path, an unreadable or non-image
file, an unknown kernel, a bad option) ends with one line on stderr and exit
status 1 (2 for a command-line syntax error), never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, NamedTuple, NoReturn

import numpy as np
import numpy.typing as npt

__all__ = ["build_parser", "main"]

IMAGE_EXTRA = "pip install 'pyconvx[image]'"
BENCH_EXTRA = "pip install 'pyconvx[bench]'"


class UserError(Exception):
    """A failure to report as one line, not a traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (usage is in --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _need_pillow(what: str) -> ModuleType:
    try:
        from PIL import Image
    except ImportError:
        raise UserError(f"{what} needs Pillow, which is not installed: {IMAGE_EXTRA}") from None
    return Image


def _need_pypng(what: str) -> ModuleType:
    try:
        # pypng ships no type hints: imported by name, the module is a plain ModuleType.
        png = importlib.import_module("png")
    except ImportError:
        raise UserError(f"{what} needs pypng, which is not installed: {IMAGE_EXTRA}") from None
    return png


# ---------------------------------------------------------------- info


def _config() -> dict[str, Any]:
    from pyconvx._config import config_info

    info: dict[str, Any] = config_info()
    return info


def cmd_info(args: argparse.Namespace) -> int:
    info = dict(_config())
    rows: list[tuple[str, object]] = [
        ("pyconvx", info.pop("version", "?")),
        ("CPU", info.pop("cpu", "?")),
        ("OpenMP", "on" if info.pop("openmp", False) else "off"),
        ("SIMD level", info.pop("simd_level", "?")),
        ("default threads", info.pop("default_threads", "?")),
    ]
    for key, value in info.items():
        if isinstance(value, (tuple, list)):
            value = ", ".join(map(str, value))
        elif isinstance(value, bool):
            value = "on" if value else "off"
        rows.append((key.replace("_", " "), value))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}} : {value}")
    return 0


# ---------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace) -> int:
    from pyconvx import _demo

    for title, text in _demo.worked_examples():
        print(f"== {title}")
        print(text)
        print()
    if args.no_pictures:
        return 0
    try:
        _need_pillow("writing the demo pictures")
    except UserError as exc:
        print(f"pyconvx demo: pictures skipped: {exc}", file=sys.stderr)
        return 0
    directory = os.path.abspath(args.out)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UserError(f"--out {args.out!r} exists and is not a folder")
    try:
        paths = _demo.write_pictures(directory)
    except OSError as exc:
        raise UserError(
            f"cannot write the pictures into {args.out!r}: {exc.strerror or exc}") from None
    names = ", ".join(os.path.basename(p) for p in paths)
    print(f"Wrote {len(paths)} pictures ({names}) to {directory}")
    return 0


# ---------------------------------------------------------------- filter

#: A gallery kernel, or a kernel read from a file.
Kernel = npt.NDArray[np.floating[Any]]

#: --boundary's names (pyconvx's, then scipy.signal's aliases); see filters.BOUNDARIES.
BOUNDARY_CHOICES = ("symmetric", "reflect", "replicate", "circular", "zeros", "symm", "wrap",
                    "fill")

#: Kernels that take a parameter after a colon: name -> (parameter, converter, make).
_PARAMETRIC: dict[str, tuple[str, Callable[[str], float], Callable[[ModuleType, Any], Kernel]]] = {
    "gaussian": ("sigma", float, lambda kernels, value: kernels.gaussian(sigma=value)),
    "box_blur": ("size", int, lambda kernels, value: kernels.box_blur(value)),
}


def _gallery_kernel(spec: str) -> tuple[Kernel, str]:
    """The kernel named by ``--kernel``: a gallery name, ``gaussian:SIGMA`` or ``box_blur:SIZE``.

    Returns ``(kernel, description)``.
    """
    from pyconvx import kernels

    name, _, parameter = spec.partition(":")
    kernel: Kernel
    key = name.strip().lower().replace("-", "_")
    try:
        if not parameter:
            kernel = kernels.get(name)
            return kernel, f"{key} {kernel.shape[0]}x{kernel.shape[1]}"
        if key not in _PARAMETRIC:
            takers = " and ".join(f"{k}:{p.upper()}" for k, (p, _, _) in _PARAMETRIC.items())
            raise UserError(f"kernel {name!r} takes no parameter (got {spec!r}); only "
                            f"{takers} do")
        label, convert, make = _PARAMETRIC[key]
        try:
            value = convert(parameter)
        except ValueError:
            raise UserError(f"--kernel {spec!r}: {label} must be a number, got {parameter!r}"
                            ) from None
        kernel = make(kernels, value)
    except (TypeError, ValueError) as exc:
        raise UserError(str(exc)) from None
    return kernel, f"{key} {label}={parameter} {kernel.shape[0]}x{kernel.shape[1]}"


def _read_kernel_file(path: str) -> npt.NDArray[np.float64]:
    if not os.path.isfile(path):
        raise UserError(f"kernel file {path!r} does not exist or is not a file")
    kernel: npt.NDArray[Any]
    try:
        if path.lower().endswith(".npy"):
            kernel = np.load(path, allow_pickle=False)
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read().replace(",", " ")
            rows = [line.split() for line in text.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
            kernel = np.array([[float(v) for v in row] for row in rows])
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read a kernel from {path!r}: {exc}") from None
    if kernel.dtype.kind not in "biuf":
        raise UserError(f"kernel file {path!r} holds dtype {kernel.dtype}; need real numbers")
    if kernel.ndim == 1:
        kernel = kernel[np.newaxis]
    if kernel.ndim != 2 or kernel.size == 0:
        raise UserError(
            f"kernel file {path!r} must hold a non-empty 2-D array, got shape {kernel.shape}")
    kernel = kernel.astype(np.float64)
    if not np.isfinite(kernel).all():
        raise UserError(f"kernel file {path!r} holds NaN or Inf")
    return kernel


#: Pillow modes -> (the mode to read in, colour channels, has alpha, bits).
_READ_MODES = {
    "1": ("L", "grayscale", False, 8),
    "L": ("L", "grayscale", False, 8),
    "LA": ("LA", "grayscale", True, 8),
    "La": ("LA", "grayscale", True, 8),
    "RGB": ("RGB", "RGB", False, 8),
    "RGBA": ("RGBA", "RGB", True, 8),
    "RGBa": ("RGBA", "RGB", True, 8),
    "CMYK": ("RGB", "RGB", False, 8),
    "YCbCr": ("RGB", "RGB", False, 8),
    "I;16": ("I;16", "grayscale", False, 16),
    "I;16B": ("I;16", "grayscale", False, 16),
    "I;16L": ("I;16", "grayscale", False, 16),
    "I": ("I", "grayscale", False, 16),
    "F": ("L", "grayscale", False, 8),
}


#: A PNG file's first bytes.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: PNG colour types (IHDR's colour type byte) that Pillow reads at 8 bits per channel
#: when their bit depth is 16: 2 (RGB), 4 (grayscale + alpha) and 6 (RGBA).
_DEEP_PNG_COLOUR_TYPES = (2, 4, 6)

#: Writes pixels (uint8 or uint16, (H, W) or (H, W, planes)) to a path in a format.
Save = Callable[[str, npt.NDArray[Any], str], None]


class Picture(NamedTuple):
    """An input image as the filter command reads it."""

    #: The colour as floats: (H, W) grayscale or (H, W, 3) RGB.
    colour: npt.NDArray[np.float64]
    #: The alpha plane (H, W), or None.
    alpha: npt.NDArray[np.float64] | None
    #: "grayscale" or "RGB".
    channels: str
    #: Bits per channel: 8 or 16.
    bits: int
    #: Writes a result of this kind of picture (its reader's library).
    save: Save


def _is_deep_colour_png(path: str) -> bool:
    """Whether ``path`` is a PNG whose IHDR chunk says 16 bits per sample with
    colour or alpha (read and written with pypng; anything else with Pillow)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(26)
    except OSError as exc:
        raise UserError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    # signature (8 bytes), IHDR's length (4) and name (4), width (4), height (4),
    # bit depth (1), colour type (1)
    if len(head) < 26 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        return False
    return head[24] == 16 and head[25] in _DEEP_PNG_COLOUR_TYPES


def _read_image(path: str) -> Picture:
    """The picture in ``path``: 16-bit PNGs with colour or alpha read by pypng, the
    rest by Pillow."""
    if not os.path.exists(path):
        raise UserError(f"input image {path!r} does not exist")
    if not os.path.isfile(path):
        raise UserError(f"input image {path!r} is not a file")
    if _is_deep_colour_png(path):
        return _read_deep_png(path, _need_pypng("reading and writing 16-bit colour PNGs"))
    return _read_with_pillow(path, _need_pillow("reading and writing images"))


def _read_with_pillow(path: str, Image: ModuleType) -> Picture:
    try:
        with Image.open(path) as picture:
            picture.load()
            mode = picture.mode
            if mode == "P":   # palette: its transparency, if any, becomes alpha
                mode = "RGBA" if "transparency" in picture.info else "RGB"
            read_as, channels, has_alpha, bits = _READ_MODES.get(mode, ("RGB", "RGB", False, 8))
            if picture.mode != read_as and read_as not in ("I;16", "I"):
                picture = picture.convert(read_as)
            pixels = np.asarray(picture)
    except Exception as exc:  # Pillow raises many kinds for a bad file
        raise UserError(f"cannot read {path!r} as an image: {exc}") from None
    if read_as == "I":   # 32-bit integers: a 16-bit PNG as older Pillows read it
        pixels = np.clip(pixels, 0, 65535)
    pixels = pixels.astype(np.float64)
    alpha = None
    if has_alpha:
        pixels, alpha = pixels[..., :-1], pixels[..., -1]
        if channels == "grayscale":
            pixels = pixels[..., 0]
    return Picture(pixels, alpha, channels, bits, functools.partial(_save_with_pillow, Image=Image))


def _save_with_pillow(path: str, pixels: npt.NDArray[Any], fmt: str, *, Image: ModuleType
                      ) -> None:
    try:
        Image.fromarray(pixels).save(path, format=fmt)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot write {path!r}: {exc}") from None


def _read_deep_png(path: str, png: ModuleType) -> Picture:
    """A 16-bit PNG with colour or alpha, read at 16 bits per channel by pypng."""
    try:
        width, height, rows, info = png.Reader(filename=path).read()
        planes = int(info["planes"])
        samples = np.empty((height, width * planes), dtype=np.uint16)
        count = 0
        for count, row in enumerate(rows, start=1):   # array('H') rows, host byte order
            samples[count - 1] = row
        if count != height:
            raise ValueError(f"{count} rows of pixels where IHDR says {height}")
    except Exception as exc:  # pypng raises its own errors, zlib's, struct's...
        raise UserError(f"cannot read {path!r} as an image: {exc}") from None
    pixels = samples.reshape(height, width, planes).astype(np.float64)
    alpha = None
    if info["alpha"]:
        pixels, alpha = pixels[..., :-1], pixels[..., -1]
    channels = "grayscale" if info["greyscale"] else "RGB"
    if channels == "grayscale":
        pixels = pixels[..., 0]
    return Picture(pixels, alpha, channels, 16, functools.partial(_save_deep_png, png=png))


def _save_deep_png(path: str, pixels: npt.NDArray[Any], fmt: str, *, png: ModuleType) -> None:
    """Write uint16 pixels, (H, W, 2) grayscale + alpha, (H, W, 3) RGB or (H, W, 4)
    RGBA, as a 16-bit PNG (``fmt`` is "PNG": JPEG holds no 16-bit pixels)."""
    height, width, planes = pixels.shape
    rows = pixels.astype(">u2").reshape(height, width * planes)   # PNG samples are big-endian
    encoded = io.BytesIO()   # encoded whole first: a failure leaves no half-written file
    try:
        writer = png.Writer(width, height, greyscale=planes == 2, alpha=planes in (2, 4),
                            bitdepth=16)
        writer.write_packed(encoded, (row.tobytes() for row in rows))
        with open(path, "wb") as handle:
            handle.write(encoded.getvalue())
    except (OSError, ValueError, png.Error) as exc:
        raise UserError(f"cannot write {path!r}: {exc}") from None


def _output_format(path: str) -> str:
    extension = os.path.splitext(path)[1].lower()
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
    if extension not in formats:
        raise UserError(f"output {path!r} must end in .png, .jpg or .jpeg")
    return formats[extension]


def _alpha_for(alpha: npt.NDArray[np.float64], mode: str, kernel_shape: Sequence[int]
               ) -> npt.NDArray[np.float64]:
    """The alpha plane of a ``mode`` result: each output pixel keeps the alpha of
    the input pixel under the kernel's centre (transparent beyond the image)."""
    if mode == "same":
        return alpha
    for axis, k in enumerate(kernel_shape):
        size = alpha.shape[axis]
        low = 0 if mode == "valid" else k - 1
        count = size - k + 1 if mode == "valid" else size + k - 1
        source = np.arange(count) - low + (k - 1) // 2
        inside = (source >= 0) & (source < size)
        alpha = np.where(np.expand_dims(inside, 1 - axis),
                         np.take(alpha, np.clip(source, 0, size - 1), axis=axis), 0.0)
    return alpha


def cmd_filter(args: argparse.Namespace) -> int:
    from pyconvx import _demo
    from pyconvx.filters import filter2d

    if args.kernel is not None:
        kernel, described = _gallery_kernel(args.kernel)
    else:
        kernel = _read_kernel_file(args.kernel_file)
        described = f"{os.path.basename(args.kernel_file)} {kernel.shape[0]}x{kernel.shape[1]}"
    fmt = _output_format(args.output)
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
        raise UserError(f"the folder of output {args.output!r} does not exist")
    colour, alpha, channels, bits, save = _read_image(args.input)
    if fmt == "JPEG" and (alpha is not None or bits == 16):
        what = "an alpha channel" if alpha is not None else "16-bit pixels"
        raise UserError(f"{args.input!r} has {what}, which JPEG cannot hold: write a .png")
    try:
        result = filter2d(colour, kernel, mode=args.mode, boundary=args.boundary)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    scale = args.scale
    if scale == "auto":
        scale = "abs" if abs(kernel.sum()) <= 1e-9 * max(np.abs(kernel).sum(), 1.0) else "clip"
    pixels: npt.NDArray[Any] = _demo.to_pixels(result, scale, bits)
    if alpha is not None:
        kept = _alpha_for(alpha, args.mode, kernel.shape)
        kept = np.rint(kept).astype(pixels.dtype)
        pixels = np.dstack([pixels, kept])   # (H, W, 2) grayscale + alpha or (H, W, 4)
    save(args.output, pixels, fmt)
    height, width = pixels.shape[:2]
    kept_alpha = " + alpha (kept)" if alpha is not None else ""
    print(f"Wrote {args.output} ({width}x{height}): kernel {described}, border {args.boundary}, "
          f"channels {channels}{kept_alpha}, {bits}-bit, scale={scale}")
    return 0


# ---------------------------------------------------------------- bench


def _bench_harness() -> ModuleType | None:
    """The command module of the benchmark harness (``pyconvx_bench``), or None."""
    try:
        from pyconvx_bench import commands
    except ImportError:
        return None
    harness: ModuleType = commands
    return harness


def cmd_bench(args: argparse.Namespace) -> int:
    harness = _bench_harness()
    if harness is None:
        raise UserError(f"the benchmark harness (pyconvx_bench) is not installed: {BENCH_EXTRA}")
    try:
        return int(harness.run_bench(args) or 0)
    except harness.HarnessError as exc:
        raise UserError(str(exc)) from None


# ---------------------------------------------------------------- parser


def _version() -> str:
    from pyconvx import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``pyconvx`` command."""
    from pyconvx import kernels

    parser = _Parser(
        prog="pyconvx",
        description="pyconvx: fast, strict N-d convolution for NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"pyconvx {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    info = sub.add_parser("info", help="version, OpenMP, SIMD level and default threads",
                          description="Show pyconvx's version and build/run-time configuration.")
    info.set_defaults(func=cmd_info)

    demo = sub.add_parser(
        "demo",
        help="the convolution tutorial's worked examples, and PNG pictures of edge detection",
        description=(
            "Print the tutorials' worked examples computed by pyconvx and write PNG "
            "pictures (input, Sobel-X, Sobel-Y, edge magnitude, blur) of a generated "
            f"image into a folder. Pictures need Pillow: {IMAGE_EXTRA}."
        ),
    )
    demo.add_argument("--out", default="pyconvx-demo", metavar="DIR",
                      help="folder for the pictures (created if needed; default: ./pyconvx-demo)")
    demo.add_argument("--no-pictures", action="store_true", help="only print the examples")
    demo.set_defaults(func=cmd_demo)

    filt = sub.add_parser(
        "filter",
        help="filter a PNG/JPEG image with a gallery kernel or a kernel file",
        description=(
            "Filter a PNG or JPEG image (grayscale or RGB, each channel on its own; an alpha "
            "channel is kept as it is) by 2-D cross-correlation and write the result as PNG "
            "or JPEG; 16-bit PNGs are filtered and written at 16 bits per channel. "
            "Needs Pillow, and pypng for 16-bit PNGs with colour or alpha: "
            f"{IMAGE_EXTRA}. Gallery kernels: {', '.join(kernels.names())}; "
            "gaussian:SIGMA sizes a Gaussian from its sigma, box_blur:SIZE sets the box."
        ),
        epilog=(
            "--boundary: symmetric = mirrored with the edge pixel repeated (scipy.ndimage's "
            "'reflect', OpenCV's BORDER_REFLECT); reflect = mirrored about the edge pixel "
            "(OpenCV's default BORDER_REFLECT_101); replicate = the edge pixel; circular = "
            "periodic; zeros = black. symm, wrap and fill are scipy.signal's names. "
            "--scale: clip = round and clip to the picture's range (0..255, or 0..65535 at "
            "16 bits); abs = |result| scaled so its max is the top of the range; minmax = "
            "[min, max] stretched onto the range; auto = abs for kernels summing to 0 (edge "
            "detectors), else clip."
        ),
    )
    filt.add_argument("input", metavar="IN", help="input image (PNG or JPEG)")
    filt.add_argument("output", metavar="OUT", help="output image (.png, .jpg or .jpeg)")
    which = filt.add_mutually_exclusive_group(required=True)
    which.add_argument("--kernel", metavar="NAME",
                       help="a gallery kernel name, gaussian:SIGMA or box_blur:SIZE")
    which.add_argument("--kernel-file", metavar="FILE",
                       help="a 2-D kernel in a .npy file or a text file (rows of numbers)")
    filt.add_argument("--mode", choices=("same", "valid", "full"), default="same",
                      help="output size (default: same)")
    filt.add_argument("--boundary", choices=BOUNDARY_CHOICES, default="symmetric",
                      help="beyond the edge (default: symmetric, a mirror; see below)")
    filt.add_argument("--scale", choices=("auto", "clip", "abs", "minmax"), default="auto",
                      help="how the result becomes pixels (default: auto)")
    filt.set_defaults(func=cmd_filter)

    harness = _bench_harness()
    # Without the harness every argument is a plain word (no option prefix), so
    # that whatever was typed ends in the one line naming the extra, not in an
    # "unrecognized arguments" error.
    plain_words: dict[str, Any] = {"prefix_chars": "\0", "add_help": False}
    bench = sub.add_parser(
        "bench",
        help="time pyconvx against the installed peers",
        description=(
            "Time pyconvx against the peers that are installed (PyTorch, SciPy, OpenCV, "
            "NumPy) and print the ratio table, or with --sweep every distinct convolution "
            "layer of a few well-known models against PyTorch; progress goes to stderr. "
            f"The peers are the extra {BENCH_EXTRA}."
        ),
        **({} if harness is not None else plain_words),
    )
    if harness is not None:
        harness.add_bench_arguments(bench)
    else:
        bench.add_argument("arguments", nargs="*")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pyconvx`` command; return its exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 for a failure (reported on stderr), 2 for a
        command-line error.

    Examples
    --------
    >>> from pyconvx.cli import main
    >>> main(["info"])  # doctest: +ELLIPSIS
    pyconvx ... : ...
    ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
        return status
    except UserError as exc:
        print(f"pyconvx {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"pyconvx {args.command}: interrupted", file=sys.stderr)
        return 130
    except (MemoryError, OSError, ValueError, TypeError) as exc:
        # Anything left is still reported in one line, never a traceback.
        print(f"pyconvx {args.command}: error: {exc}", file=sys.stderr)
        return 1
