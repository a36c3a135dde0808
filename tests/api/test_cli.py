"""The pyconvx command, on files the tests create.

Most tests call ``pyconvx.cli.main`` in this process, as ``python -m pyconvx``
does (a child Python costs half a second); a few start the command as a
user's shell does, in a child process.
"""

import contextlib
import io
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import pyconvx
from pyconvx.cli import main

try:
    from PIL import Image
except ImportError:  # the optional extra pyconvx[image]
    Image = None

try:
    import png
except ImportError:  # pypng, in the same extra: 16-bit PNGs with colour or alpha
    png = None

needs_pillow = pytest.mark.skipif(Image is None, reason="Pillow (pyconvx[image]) is not installed")
needs_pypng = pytest.mark.skipif(png is None, reason="pypng (pyconvx[image]) is not installed")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(pyconvx.__file__)))
# The benchmark harness behind `pyconvx bench` sits beside pyconvx: installed in
# the same site-packages, or in bench/ of the source tree next to an in-place build.
HARNESS = os.path.join(ROOT, "bench")
BLOCK = "import sys; sys.modules[{name!r}] = None; from pyconvx.cli import main; sys.exit(main(sys.argv[1:]))"


def run(*args, block=None, cwd=None, process=False):
    """Run ``pyconvx *args``: a CompletedProcess with its status, stdout and stderr.

    The command runs in this process unless ``process`` asks for a child
    process, ``block`` names a module to make unimportable (in a child), or
    the command is ``bench`` (its harness may start a pytest session of its
    own, which cannot run inside this one).
    """
    if block or process or args[:1] == ("bench",):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH"), HARNESS) if p)
        env.pop("OPENBLAS_CORETYPE", None)
        if block:
            command = [sys.executable, "-c", BLOCK.format(name=block), *args]
        else:
            command = [sys.executable, "-m", "pyconvx", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd,
                              timeout=120)
    stdout, stderr = io.StringIO(), io.StringIO()
    here, path = os.getcwd(), list(sys.path)
    try:
        if cwd is not None:
            os.chdir(cwd)
        sys.path.append(HARNESS)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = main(list(args))
            except SystemExit as exc:   # argparse: --help, --version, a syntax error
                status = exc.code if isinstance(exc.code, int) else (exc.code is not None)
    finally:
        os.chdir(here)
        sys.path[:] = path
    return subprocess.CompletedProcess(["pyconvx", *args], int(status), stdout.getvalue(),
                                       stderr.getvalue())


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def step_png(tmp_path):
    """A 20x30 grayscale image: 10 on the left, 200 from column 15 on."""
    pixels = np.full((20, 30), 10, dtype=np.uint8)
    pixels[:, 15:] = 200
    path = tmp_path / "step.png"
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def rgb_png(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (12, 17, 3)).astype(np.uint8)
    path = tmp_path / "colour.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


@pytest.mark.parametrize("command", [[], ["info"], ["demo"], ["filter"], ["bench"]])
def test_help_everywhere(command):
    result = run(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: pyconvx")


def test_info():
    result = run("info")
    assert result.returncode == 0
    out = result.stdout
    assert pyconvx.__version__ in out
    for label in ("OpenMP", "SIMD level", "default threads"):
        assert label in out
    assert "OpenMP" in out and (": on" in out or ": off" in out)
    # the CPU model and the instruction set the kernels use on it
    cpu = pyconvx.show_config(print_=False)["cpu"]
    assert f"CPU                   : {cpu}" in out and cpu.strip()
    assert f": {pyconvx.show_config(print_=False)['simd_level']}" in out


@needs_pillow
def test_demo_numbers_and_pictures(tmp_path):
    out_dir = tmp_path / "pictures"
    result = run("demo", "--out", str(out_dir))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[-2, -2, -2]" in out
    assert "[[160, 160, 160],\n [240, 240, 240],\n [320, 320, 320]]" in out
    assert "Sum all elements: -10 + 0 + 30 + (-40) + 0 + 120 + (-30) + 0 + 90 = 160" in out
    assert "[[345, 380],\n [320, 320]]" in out
    assert "R=5, G=13, B=42, output 60" in out
    for count in ("1792", "73856", "2432"):
        assert count in out
    assert str(out_dir) in out
    from pyconvx import _demo

    image = _demo.demo_image()
    pictures = {name: np.asarray(Image.open(out_dir / name)) for name in _demo.PICTURES}
    for name, pixels in pictures.items():
        assert pixels.shape == image.shape and pixels.dtype == np.uint8, name
    np.testing.assert_array_equal(pictures["input.png"], np.rint(image * 255))
    edges = pictures["edge_magnitude.png"].astype(int)
    assert edges.max() == 255
    # flat regions (only the soft background gradient) are dark, outlines bright
    assert edges[2:8, 2:8].max() < 10 and edges[62:75, 60:75].max() < 10
    column = int(0.72 * image.shape[1])
    assert edges[20:40, column - 1 : column + 1].max() > 100
    sobel_x, sobel_y = pictures["sobel_x.png"].astype(int), pictures["sobel_y.png"].astype(int)
    # the vertical bar's sides are in Sobel-X, its top and bottom in Sobel-Y
    assert sobel_x[25, column - 1 : column + 1].max() > 100 and sobel_y[25, column - 1 : column + 1].max() < 20
    blur = pictures["blur.png"].astype(int)
    assert np.abs(np.diff(blur, axis=1)).max() < np.abs(np.diff(pictures["input.png"].astype(int), axis=1)).max()


def test_demo_without_pillow(tmp_path):
    result = run("demo", "--out", str(tmp_path / "none"), block="PIL")
    assert result.returncode == 0
    assert "[[345, 380]" in result.stdout
    assert "pyconvx[image]" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "none").exists()


@needs_pillow
def test_filter_sobel_on_vertical_step(step_png, tmp_path):
    out = tmp_path / "edges.png"
    result = run("filter", str(step_png), str(out), "--kernel", "sobel_x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"Wrote {out} (30x20): kernel sobel_x 3x3, border symmetric, channels grayscale, "
        "8-bit, scale=abs")
    pixels = np.asarray(Image.open(out))
    assert pixels.shape == (20, 30)
    assert set(np.flatnonzero(pixels.max(axis=0) == 255)) == {14, 15}
    # the mirrored border draws no edge line along the image's sides
    assert pixels[:, :13].max() == 0 and pixels[:, 17:].max() == 0
    zeros = tmp_path / "zeros.png"
    assert run("filter", str(step_png), str(zeros), "--kernel", "sobel_x", "--boundary", "zeros").returncode == 0
    assert np.asarray(Image.open(zeros))[:, -1].min() > 0   # zero padding: a false edge


@needs_pillow
def test_the_command_in_a_child_process(step_png, tmp_path):
    """As a shell starts it: ``python -m pyconvx``, its output and exit status."""
    version = run("--version", process=True)
    assert (version.returncode, version.stdout.strip()) == (0, f"pyconvx {pyconvx.__version__}")
    out = tmp_path / "edges.png"
    done = run("filter", str(step_png), str(out), "--kernel", "sobel_x", process=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == run("filter", str(step_png), str(out), "--kernel", "sobel_x").stdout
    assert set(np.flatnonzero(np.asarray(Image.open(out)).max(axis=0) == 255)) == {14, 15}
    assert_one_line_error(run("filter", str(step_png), str(out), "--kernel", "sobelx", process=True),
                          "unknown kernel name 'sobelx'")
    syntax = run("filter", str(step_png), process=True)
    assert syntax.returncode == 2 and "Traceback" not in syntax.stderr


@needs_pillow
def test_filter_valid_full_and_kernel_files(step_png, tmp_path):
    out = tmp_path / "valid.png"
    assert run("filter", str(step_png), str(out), "--kernel", "box_blur", "--mode", "valid").returncode == 0
    assert np.asarray(Image.open(out)).shape == (18, 28)
    npy = tmp_path / "k.npy"
    np.save(npy, np.array([[0.0, 0.0, 1.0]]))  # 'full': out[:, j] = image[:, j]
    for boundary, beyond in [("zeros", 0), ("symmetric", 200)]:
        out = tmp_path / f"shift_{boundary}.png"
        result = run("filter", str(step_png), str(out), "--kernel-file", str(npy), "--mode", "full",
                     "--boundary", boundary)
        assert result.returncode == 0, result.stderr
        pixels = np.asarray(Image.open(out))
        assert pixels.shape == (20, 32)
        np.testing.assert_array_equal(pixels[:, :15], 10)
        np.testing.assert_array_equal(pixels[:, 15:30], 200)
        np.testing.assert_array_equal(pixels[:, 30:], beyond)
    text = tmp_path / "k.txt"
    text.write_text("# prewitt\n-1, 0, 1\n-1 0 1\n-1,0,1\n")
    out = tmp_path / "prewitt.png"
    assert run("filter", str(step_png), str(out), "--kernel-file", str(text), "--boundary", "wrap").returncode == 0
    pixels = np.asarray(Image.open(out))
    # with 'wrap' the image edges are a step too (200 -> 10)
    assert pixels[:, 14].min() == 255 and pixels[:, 0].min() == 255 and pixels[:, 5].max() == 0


@needs_pillow
def test_filter_gaussian_sigma_and_box_size(step_png, tmp_path):
    source = np.asarray(Image.open(step_png)).astype(float)
    scipy_ndimage = pytest.importorskip("scipy.ndimage")
    out = tmp_path / "gauss.png"
    result = run("filter", str(step_png), str(out), "--kernel", "gaussian:2.5")
    assert result.returncode == 0, result.stderr
    assert "kernel gaussian sigma=2.5 21x21, border symmetric" in result.stdout
    expected = np.rint(scipy_ndimage.gaussian_filter(source, 2.5))
    np.testing.assert_array_equal(np.asarray(Image.open(out)), expected)
    out = tmp_path / "box.png"
    result = run("filter", str(step_png), str(out), "--kernel", "box_blur:5")
    assert result.returncode == 0 and "kernel box_blur size=5 5x5" in result.stdout
    np.testing.assert_array_equal(np.asarray(Image.open(out)),
                                  np.rint(scipy_ndimage.uniform_filter(source, 5)))


@needs_pillow
def test_filter_rgb_and_jpeg(rgb_png, tmp_path):
    path, original = rgb_png
    out = tmp_path / "identity.png"
    result = run("filter", str(path), str(out), "--kernel", "identity")
    assert result.returncode == 0 and "channels RGB, 8-bit" in result.stdout
    np.testing.assert_array_equal(np.asarray(Image.open(out)), original)
    jpeg = tmp_path / "blur.jpg"
    result = run("filter", str(path), str(jpeg), "--kernel", "gaussian", "--boundary", "symm")
    assert result.returncode == 0, result.stderr
    blurred = np.asarray(Image.open(jpeg))
    assert blurred.shape == (12, 17, 3)
    again = tmp_path / "again.png"
    assert run("filter", str(jpeg), str(again), "--kernel", "sharpen", "--scale", "minmax").returncode == 0
    pixels = np.asarray(Image.open(again))
    assert pixels.shape == (12, 17, 3) and pixels.min() == 0 and pixels.max() == 255


@needs_pillow
def test_filter_keeps_alpha_and_filters_colour_only(tmp_path):
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (14, 18, 4)).astype(np.uint8)
    rgba[..., 3] = 0
    rgba[4:10, 5:13, 3] = 255          # an opaque window; the rest hides random colour
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)
    out = tmp_path / "blur.png"
    result = run("filter", str(path), str(out), "--kernel", "box_blur")
    assert result.returncode == 0, result.stderr
    assert "channels RGB + alpha (kept)" in result.stdout
    written = np.asarray(Image.open(out))
    assert written.shape == (14, 18, 4)
    np.testing.assert_array_equal(written[..., 3], rgba[..., 3])
    scipy_ndimage = pytest.importorskip("scipy.ndimage")
    for channel in range(3):
        expected = np.rint(scipy_ndimage.uniform_filter(rgba[..., channel].astype(float), 3))
        np.testing.assert_array_equal(written[..., channel], expected)
    # 'valid' keeps the alpha under each kernel's centre
    out = tmp_path / "valid.png"
    assert run("filter", str(path), str(out), "--kernel", "box_blur", "--mode", "valid").returncode == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out))[..., 3], rgba[1:-1, 1:-1, 3])
    gray = tmp_path / "la.png"
    Image.fromarray(rgba[..., [0, 3]], "LA").save(gray)
    out = tmp_path / "la_out.png"
    result = run("filter", str(gray), str(out), "--kernel", "identity")
    assert result.returncode == 0 and "channels grayscale + alpha (kept)" in result.stdout
    np.testing.assert_array_equal(np.asarray(Image.open(out).convert("LA")), rgba[..., [0, 3]])
    assert_one_line_error(run("filter", str(path), str(tmp_path / "o.jpg"), "--kernel", "identity"),
                          "alpha channel, which JPEG cannot hold")
    # a palette image with a transparent entry is filtered as RGB, its transparency kept
    palette = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8), "P")
    palette.putpalette([value for index in range(256) for value in (index, 255 - index, 7)])
    palette.info["transparency"] = 0
    paletted = tmp_path / "palette.png"
    palette.save(paletted, transparency=0)
    out = tmp_path / "palette_out.png"
    result = run("filter", str(paletted), str(out), "--kernel", "identity")
    assert result.returncode == 0 and "channels RGB + alpha (kept)" in result.stdout
    np.testing.assert_array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(paletted).convert("RGBA")))


@needs_pillow
def test_filter_16_bit_grayscale_stays_16_bit(tmp_path):
    pixels = np.full((16, 20), 1000, dtype=np.uint16)
    pixels[:, 10:] = 60000
    path = tmp_path / "deep.png"
    Image.fromarray(pixels).save(path)
    out = tmp_path / "same.png"
    result = run("filter", str(path), str(out), "--kernel", "identity")
    assert result.returncode == 0, result.stderr
    assert "channels grayscale, 16-bit" in result.stdout
    written = np.asarray(Image.open(out))
    assert written.dtype == np.uint16
    np.testing.assert_array_equal(written, pixels)   # not clipped to white
    out = tmp_path / "blur.png"
    assert run("filter", str(path), str(out), "--kernel", "box_blur").returncode == 0
    blurred = np.asarray(Image.open(out)).astype(int)
    np.testing.assert_array_equal(blurred[:, 9], np.rint((1000 * 2 + 60000) / 3))
    np.testing.assert_array_equal(blurred[:, :8], 1000)
    edges = tmp_path / "edges.png"
    assert run("filter", str(path), str(edges), "--kernel", "sobel_x").returncode == 0
    assert np.asarray(Image.open(edges)).max() == 65535
    assert_one_line_error(run("filter", str(path), str(tmp_path / "o.jpg"), "--kernel", "identity"),
                          "16-bit pixels, which JPEG cannot hold")


# ---- 16-bit PNGs with colour or alpha (pypng reads and writes them)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Adam7's seven passes: first column and row, column and row steps
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
COLOUR_TYPES = {2: "RGB", 4: "grayscale + alpha", 6: "RGBA"}


def write_png16(path, samples, colour_type, interlace=False):
    """Write (H, W, planes) uint16 samples as a 16-bit PNG with zlib and struct alone
    (no image library), straight or Adam7-interlaced, every scanline unfiltered."""
    height, width = samples.shape[:2]

    def chunk(name, data):
        return struct.pack(">I", len(data)) + name + data + struct.pack(">I", zlib.crc32(name + data))

    images = [samples[y0::dy, x0::dx] for x0, y0, dx, dy in ADAM7] if interlace else [samples]
    scanlines = b"".join(b"\0" + row.astype(">u2").tobytes() for image in images if image.size for row in image)
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, int(interlace))
    path.write_bytes(PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(scanlines))
                     + chunk(b"IEND", b""))
    return path


def read_png16(path):
    """pypng's reading of a PNG: (H, W, planes) samples, bit depth, colour type."""
    width, height, rows, info = png.Reader(filename=str(path)).read()
    samples = np.array([np.asarray(row) for row in rows]).reshape(height, width, info["planes"])
    colour_type = (0 if info["greyscale"] else 2) | (4 if info["alpha"] else 0)
    return samples, info["bitdepth"], colour_type


def deep_samples(shape, seed):
    """uint16 samples that 8 bits cannot hold: a ramp over 0..65535 plus random odd values."""
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, 32768, shape, dtype=np.uint16) * 2 + 1   # odd: a low byte of 8 bits
    samples.reshape(-1)[: samples.size // 2] = np.linspace(0, 65535, samples.size // 2).astype(np.uint16)
    return samples


def correlate_channels(colour, name):
    """The gallery kernel ``name`` over each channel with the mirrored border, by scipy.ndimage."""
    ndimage = pytest.importorskip("scipy.ndimage")
    kernel = pyconvx.kernels.get(name)
    planes = colour[..., np.newaxis] if colour.ndim == 2 else colour
    result = np.stack([ndimage.correlate(planes[..., c], kernel, mode="reflect")
                       for c in range(planes.shape[-1])], axis=-1)
    return result.reshape(colour.shape)


def on_16_bits(values, scale):
    """``--scale``'s rule onto 0..65535, written out here for the checks."""
    if scale == "abs":
        values = np.abs(values)
        values = values * (65535 / values.max())
    elif scale == "minmax":
        values = (values - values.min()) * (65535 / (values.max() - values.min()))
    return np.clip(np.rint(values), 0, 65535).astype(np.uint16)


@needs_pypng
@pytest.mark.parametrize("colour_type", [2, 6, 4])
def test_filter_16_bit_colour_and_alpha_stay_16_bit(colour_type, tmp_path):
    planes = {2: 3, 4: 2, 6: 4}[colour_type]
    samples = deep_samples((13, 17, planes), seed=colour_type)
    has_alpha = colour_type in (4, 6)
    colour = (samples[..., :-1] if has_alpha else samples).astype(np.float64)
    if colour_type == 4:
        colour = colour[..., 0]
    path = write_png16(tmp_path / "deep.png", samples, colour_type)
    described = ("grayscale" if colour_type == 4 else "RGB") + (" + alpha (kept)" if has_alpha else "")

    out = tmp_path / "identity.png"
    result = run("filter", str(path), str(out), "--kernel", "identity")
    assert result.returncode == 0, result.stderr
    assert f"channels {described}, 16-bit, scale=clip" in result.stdout
    written, bit_depth, written_type = read_png16(out)
    assert (bit_depth, written_type, written.dtype) == (16, colour_type, np.uint16)
    np.testing.assert_array_equal(written, samples)   # every sample, low bytes too
    if Image is not None and colour_type == 2:   # Pillow reads it at 8 bits: the high bytes
        np.testing.assert_array_equal(np.asarray(Image.open(out).convert("RGB")), samples >> 8)

    for kernel, scale in (("box_blur", "auto"), ("sharpen", "clip"), ("sobel_x", "auto"), ("sharpen", "minmax")):
        out = tmp_path / f"{kernel}_{scale}.png"
        result = run("filter", str(path), str(out), "--kernel", kernel, "--scale", scale)
        assert result.returncode == 0, result.stderr
        rule = {"auto": "abs" if kernel == "sobel_x" else "clip"}.get(scale, scale)
        assert f"channels {described}, 16-bit, scale={rule}" in result.stdout
        written, bit_depth, written_type = read_png16(out)
        assert (bit_depth, written_type) == (16, colour_type)
        expected = on_16_bits(correlate_channels(colour, kernel), rule)
        got = written[..., :-1] if has_alpha else written
        np.testing.assert_array_equal(got.reshape(expected.shape), expected)
        if has_alpha:
            np.testing.assert_array_equal(written[..., -1], samples[..., -1])
    # the value range is the whole 16-bit scale, not 8 bits scaled up
    assert written.max() == 65535 and np.any(written % 256 != 0)

    out = tmp_path / "valid.png"
    result = run("filter", str(path), str(out), "--kernel", "box_blur", "--mode", "valid")
    assert result.returncode == 0, result.stderr
    written, bit_depth, _ = read_png16(out)
    assert written.shape == (11, 15, planes) and bit_depth == 16
    if has_alpha:   # the alpha under each kernel's centre
        np.testing.assert_array_equal(written[..., -1], samples[1:-1, 1:-1, -1])


@needs_pypng
def test_filter_interlaced_16_bit_png(tmp_path):
    samples = deep_samples((13, 17, 4), seed=11)
    straight = write_png16(tmp_path / "straight.png", samples, 6)
    interlaced = write_png16(tmp_path / "interlaced.png", samples, 6, interlace=True)
    assert interlaced.read_bytes() != straight.read_bytes()
    for kernel in ("identity", "box_blur"):
        from_straight, from_interlaced = tmp_path / f"{kernel}_s.png", tmp_path / f"{kernel}_i.png"
        assert run("filter", str(straight), str(from_straight), "--kernel", kernel).returncode == 0
        result = run("filter", str(interlaced), str(from_interlaced), "--kernel", kernel)
        assert result.returncode == 0, result.stderr
        written, bit_depth, colour_type = read_png16(from_interlaced)
        assert (bit_depth, colour_type) == (16, 6)
        np.testing.assert_array_equal(written, read_png16(from_straight)[0])
        np.testing.assert_array_equal(written[..., 3], samples[..., 3])
    np.testing.assert_array_equal(written[..., :3], on_16_bits(correlate_channels(samples[..., :3].astype(float), "box_blur"), "clip"))


def test_filter_16_bit_colour_errors(tmp_path):
    samples = deep_samples((6, 7, 3), seed=2)
    path = write_png16(tmp_path / "deep.png", samples, 2)
    out = tmp_path / "out.png"
    result = run("filter", str(path), str(out), "--kernel", "identity", block="png")
    assert_one_line_error(result, "16-bit colour PNGs needs pypng", "pip install 'pyconvx[image]'")
    assert not out.exists()
    if png is not None:
        assert_one_line_error(run("filter", str(path), str(tmp_path / "o.jpg"), "--kernel", "identity"),
                              "16-bit pixels, which JPEG cannot hold")
        broken = tmp_path / "broken.png"
        broken.write_bytes(path.read_bytes()[:60])   # IHDR says 16-bit RGB; the pixels are cut short
        assert_one_line_error(run("filter", str(broken), str(out), "--kernel", "identity"),
                              "cannot read", "as an image")
        assert not out.exists()
    if Image is not None:   # other pictures need Pillow alone
        eight_bit = tmp_path / "eight.png"
        Image.fromarray((samples >> 8).astype(np.uint8)).save(eight_bit)
        result = run("filter", str(eight_bit), str(out), "--kernel", "identity", block="png")
        assert result.returncode == 0 and "channels RGB, 8-bit" in result.stdout, result.stderr


@needs_pillow
def test_filter_errors(step_png, tmp_path):
    out = str(tmp_path / "out.png")
    assert_one_line_error(run("filter", str(tmp_path / "missing.png"), out, "--kernel", "sobel_x"), "does not exist")
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    assert_one_line_error(run("filter", str(fake), out, "--kernel", "sobel_x"), "cannot read", "as an image")
    assert_one_line_error(run("filter", str(tmp_path), out, "--kernel", "sobel_x"), "is not a file")
    assert_one_line_error(run("filter", str(step_png), out, "--kernel", "sobelx"), "unknown kernel name 'sobelx'")
    assert_one_line_error(run("filter", str(step_png), out, "--kernel", "sobel_x:2"), "takes no parameter")
    assert_one_line_error(run("filter", str(step_png), out, "--kernel", "gaussian:wide"), "sigma must be a number")
    assert_one_line_error(run("filter", str(step_png), out, "--kernel", "gaussian:-1"), "sigma must be finite and > 0")
    assert_one_line_error(run("filter", str(step_png), out, "--kernel", "box_blur:0"), "size must be >= 1")
    assert_one_line_error(run("filter", str(step_png), out, "--kernel", "sobel_x", "--mode", "middle"), "invalid choice")
    assert_one_line_error(run("filter", str(step_png), out, "--kernel", "sobel_x", "--boundary", "mirror"), "invalid choice")
    assert_one_line_error(run("filter", str(step_png), out), "one of the arguments --kernel --kernel-file is required")
    assert_one_line_error(
        run("filter", str(step_png), out, "--kernel", "sobel_x", "--kernel-file", "k.npy"), "not allowed with"
    )
    assert_one_line_error(run("filter", str(step_png), str(tmp_path / "o.txt"), "--kernel", "sobel_x"), ".png, .jpg or .jpeg")
    assert_one_line_error(run("filter", str(step_png), str(tmp_path / "no" / "o.png"), "--kernel", "sobel_x"), "does not exist")
    assert_one_line_error(run("filter", str(step_png), out, "--kernel-file", str(fake)), "cannot read a kernel")
    bad = tmp_path / "bad.npy"
    np.save(bad, np.ones((2, 2, 2)))
    assert_one_line_error(run("filter", str(step_png), out, "--kernel-file", str(bad)), "2-D array")
    big = tmp_path / "big.npy"
    np.save(big, np.ones((25, 3)))
    assert_one_line_error(run("filter", str(step_png), out, "--kernel-file", str(big), "--mode", "valid"), "kernel to fit")
    assert_one_line_error(run("filter", str(step_png), out, "--kernel", "sobel_x", block="PIL"), "pyconvx[image]")
    assert not os.path.exists(out)


def test_bad_commands_and_bench_arguments(tmp_path):
    assert_one_line_error(run(), "required")
    assert_one_line_error(run("frobnicate"), "invalid choice")
    assert_one_line_error(run("bench", "--threads", "0"), "positive integer")
    assert_one_line_error(run("bench", "--speed"), "unrecognized arguments")
    assert_one_line_error(run("bench", "--models", "vgg16"), "--models need --sweep")
    assert_one_line_error(run("bench", "--sweep", "--dev"), "--dev belong to the table")
    assert_one_line_error(run("bench", "--sweep", "--models", "vgg19"), "invalid choice: 'vgg19'")
    assert_one_line_error(run("bench", "--sweep", "--json", str(tmp_path / "no" / "r.json")),
                          "does not exist")
    assert_one_line_error(run("bench", "--only", "conv9x9", "--no-progress"),
                          "unknown workload 'conv9x9'")
    # a bad --plot path is refused before any timing; without matplotlib the
    # missing extra is named first
    bad_plot = run("bench", "--plot", str(tmp_path / "no" / "p.png"))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert_one_line_error(bad_plot, "pip install 'pyconvx[plot]'")
    else:
        assert_one_line_error(bad_plot, "does not exist")
    assert_one_line_error(run("bench", "--plot", str(tmp_path / "p.png"), block="matplotlib"), "pyconvx[plot]")
    target = tmp_path / "file"
    target.write_text("x")
    assert_one_line_error(run("demo", "--out", str(target)), "not a folder")


def test_bench_names_its_extra_when_the_harness_or_torch_is_missing():
    for args in (["bench"], ["bench", "--help"], ["bench", "--quick", "--only", "conv1d"], ["bench", "--sweep"]):
        result = run(*args, block="pyconvx_bench")
        assert result.returncode == 1
        assert_one_line_error(result, "pyconvx_bench", "pip install 'pyconvx[bench]'")
    result = run("bench", "--sweep", "--quick", block="torch")
    assert result.returncode == 1
    assert_one_line_error(result, "PyTorch", "pip install 'pyconvx[bench]'")


@pytest.mark.slow
def test_bench_table_user_and_developer_columns():
    user = run("bench", "--quick", "--only", "conv1d_f64", "--no-progress")
    assert user.returncode == 0, user.stderr
    lines = user.stdout.splitlines()
    assert lines[0].startswith("# threads=")
    assert "| workload | pyconvx ms | peer | peer ms | ratio | GFLOP/s | path |" in lines
    row = next(line for line in lines if line.startswith("| 1-d, 1e6 samples"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    plan = pyconvx.plan((1, 1, 1_000_000), (1, 1, 64), dtype="float64")
    assert cells[2] == "numpy.correlate"
    assert cells[-1] == f"{plan.algorithm}/{plan.microkernel} {plan.tile[0]}x{plan.tile[1]}"
    assert float(cells[1]) > 0 and float(cells[3]) > 0
    assert "goal" not in user.stdout and "% of peak" not in user.stdout
    dev = run("bench", "--quick", "--only", "conv1d_f64", "--no-progress", "--dev")
    assert dev.returncode == 0, dev.stderr
    assert ("| workload | pyconvx ms | peer | peer ms | ratio | goal | met? | GFLOP/s | % of peak "
            "| path |") in dev.stdout.splitlines()
    assert "pyconvx.fma_peak_gflops" in dev.stdout


@pytest.mark.slow
def test_bench_sweep_reports_layers_totals_and_json(tmp_path):
    pytest.importorskip("torch")
    report = tmp_path / "sweep.json"
    result = run("bench", "--sweep", "--quick", "--models", "wav2vec2", "--batch", "1",
                 "--algorithms", "--repeat", "2", "--isa", "avx2", "--threads", "1",
                 "--no-progress", "--json", str(report))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "# ISA capped at avx2 for both libraries: PYCONVX_SIMD=avx2 ONEDNN_MAX_CPU_ISA=AVX2" in out
    assert "| layer | shape | x | pyconvx ms | torch ms | ratio | ratios of the runs | pyconvx path " \
           "| best forced direct (ms) | auto / best direct | fast ms | auto / fast |" in out
    assert "| feature_extractor.conv_layers.0 | 1->512 10 s5 p0 @16000 | 1 |" in out
    assert "Worst layer: " in out and "Total (sum of multiplicity x median): pyconvx " in out
    data = json.loads(report.read_text())
    levels = pyconvx.show_config(print_=False)["simd_levels_available"]
    assert data["simd"] == ("avx2" if "avx2" in levels else "generic")
    assert data["environment"]["PYCONVX_SIMD"] == "avx2"
    assert data["environment"]["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert data["cpu"] and data["torch"] and data["threads"] == 1 and data["repeat"] == 2
    (model,) = data["results"]
    assert (model["model"], model["batch"], model["conv_layers"]) == ("wav2vec2", 1, 8)
    assert len(model["layers"]) == 8 and len(data["runs"]) == 2
    ours = sum(layer["count"] * layer["pyconvx_ms"] for layer in model["layers"])
    assert model["pyconvx_total_ms"] > 0 and ours > 0
    assert len(model["total_ratios"]) == 2
    first = model["layers"][0]
    assert first["plan"]["algorithm"] in ("direct", "winograd", "fft")
    # a forced algorithm whose plan is auto's own counts with auto's time, untimed
    assert set(first["forced"]) | set(first["same_as_auto"]) == {"fast", "direct", "gemm", "cgemm",
                                                                 "row"}
    assert first["plan"]["microkernel"] in first["same_as_auto"]
    assert not set(first["forced"]) & set(first["same_as_auto"])
    assert set(first["not_applicable"]) == {"rowblock", "depthwise", "winograd"}


def test_version_flag():
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"pyconvx {pyconvx.__version__}"


def test_memory_errors_speak_in_binary_units():
    from pyconvx._normalize import format_bytes

    assert [format_bytes(n) for n in (0, 1023, 1024, 3 * 2**20 // 2, 1100585369600)] == [
        "0 bytes", "1023 bytes", "1.0 KiB", "1.5 MiB", "1.0 TiB"]
    with pytest.raises(MemoryError, match=r"needs \d+ bytes \(\d+\.\d [KMGTPEZ]iB\), more than"):
        pyconvx.conv(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1, 1)), padding=2**22)
