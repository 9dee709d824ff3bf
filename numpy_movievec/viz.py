"""A 2-D map of movie vectors: PCA by SVD, drawn with matplotlib (an optional dependency).

PCA finds the directions along which the vectors vary most. Centre the data (subtract the
mean row), take its singular value decomposition ``X = U S Vᵀ``: the rows of ``Vᵀ`` are those
directions (the eigenvectors of the covariance ``XᵀX / (n-1)``), ``S² / (n-1)`` the variance
along each, and ``X V`` the coordinates of every movie in that basis.

`plot_map` draws the most-rated movies at their first two coordinates, labels as many as fit
without overlapping, and can draw arrows for offsets such as Ringu → The Ring.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import archive
from .checks import BadValueError

FORMATS = {".png": "png", ".svg": "svg"}
INSTALL_HINT = "plotting needs matplotlib: pip install 'numpy_movievec[plot]'"
LABEL_CHARS = 28  # longer titles are cut, so one label cannot cover half the map
# Where a label may sit relative to its dot (points), tried in order until one fits.
LABEL_OFFSETS = ((3, 2, "left"), (3, -8, "left"), (-3, 2, "right"), (-3, -8, "right"))
DOT_SIZE = 9  # scatter marker area, points²
DOT_RADIUS = np.sqrt(DOT_SIZE) / 2  # points
HALO = dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.8)


class PCA(NamedTuple):
    """The result of `pca`: coordinates plus what is needed to place new points."""

    coords: np.ndarray  # (n, k) the data in the principal basis
    explained_variance_ratio: np.ndarray  # (k,) share of the total variance along each axis
    components: np.ndarray  # (k, dim) the principal directions, unit rows
    mean: np.ndarray  # (dim,) the row that was subtracted

    def transform(self, vectors) -> np.ndarray:
        """Coordinates of other ``vectors`` in the same basis."""
        return (np.asarray(vectors, dtype=np.float64) - self.mean) @ self.components.T


def pca(vectors, n_components=2) -> PCA:
    """Principal component analysis of the rows of ``vectors``, by SVD in float64.

    Each direction's sign is fixed so that its largest-magnitude entry is positive, so the
    same data always gives the same picture.

    >>> result = pca([[0, 0], [2, 1], [4, 2]], n_components=1)
    >>> result.coords.round(3).ravel().tolist(), result.explained_variance_ratio.tolist()
    ([-2.236, 0.0, 2.236], [1.0])
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or not 1 <= n_components <= min(x.shape):
        raise BadValueError(f"cannot take {n_components} components of data shaped {x.shape}: "
                         f"need 1 <= n_components <= min(n_rows, dim)")
    mean = x.mean(axis=0)
    centred = x - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:n_components] * _sign_of_largest(vt[:n_components])[:, None]
    variance = singular**2
    total = variance.sum()
    ratio = variance[:n_components] / total if total > 0 else np.zeros(n_components)
    return PCA(centred @ components.T, ratio, components, mean)


def _sign_of_largest(rows) -> np.ndarray:
    largest = rows[np.arange(len(rows)), np.abs(rows).argmax(axis=1)]
    return np.where(largest < 0, -1.0, 1.0)


def plot_map(movie_vectors, path, top=200, counts=None, arrow=None, title=None) -> Path:
    """Draw the ``top`` most-rated movies on their first two principal components.

    PCA is fitted to the unit vectors of the movies drawn, so the map spreads what is shown.
    Labels are placed most-rated first and skipped where they would cover another label or
    dot; arrow ends are always drawn and labelled. ``counts`` overrides the object's rating
    counts; ``top=None`` draws every movie. ``arrow`` is one ``(source, destination)`` pair or
    a list of them. The format follows the extension (.png or .svg); the file appears whole or
    not at all.

    >>> import os, tempfile
    >>> from numpy_movievec.vectors import MovieVectors
    >>> vecs = MovieVectors(np.eye(3), titles=["Ringu", "The Ring", "Yojimbo"], counts=[3, 2, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "map.png")
    >>> plot_map(vecs, path, arrow=("Ringu", "The Ring")).name
    'map.png'
    """
    path = Path(path)
    image_format = _image_format(path)
    figure_class, canvas_class = _matplotlib()
    arrows = [(movie_vectors.index(src), movie_vectors.index(dst)) for src, dst in _pairs(arrow)]
    arrow_ends = list(dict.fromkeys(row for pair in arrows for row in pair))
    most_rated = _rows_to_draw(movie_vectors, top, counts).tolist()
    rows = arrow_ends + [row for row in most_rated if row not in arrow_ends]  # label order
    if len(rows) < 2 or movie_vectors.dim < 2:
        raise BadValueError(f"a map needs at least 2 movies and 2 dimensions; got "
                            f"{_plural(len(rows), 'movie')} of "
                            f"{_plural(movie_vectors.dim, 'dimension')}")
    projection = pca(movie_vectors.unit_vectors[rows], 2)
    xy = dict(zip(rows, projection.coords))

    figure = figure_class(figsize=(14, 11), dpi=110)
    axes = _map_axes(figure, projection, title or f"The {len(rows)} most-rated movies: "
                                                  f"PCA of their unit vectors")
    for src, dst in arrows:
        axes.annotate("", xy=xy[dst], xytext=xy[src], zorder=3,
                      arrowprops=dict(arrowstyle="-|>", color="C3", lw=1.6, shrinkA=3, shrinkB=3))
    labels = [(xy[row], _short(movie_vectors.name(row)), row in arrow_ends) for row in rows]
    _place_labels(axes, canvas_class(figure).get_renderer(), labels)
    return _save_atomically(figure, path, image_format)


def _map_axes(figure, projection, title):
    """Axes with every movie as a grey dot, limits final (labels are then placed in pixels)."""
    figure.subplots_adjust(left=0.05, right=0.97, bottom=0.06, top=0.95)
    axes = figure.add_subplot()
    x, y = projection.coords.T
    axes.scatter(x, y, s=DOT_SIZE, color="0.55", zorder=2)
    axes.margins(0.08)
    axes.autoscale_view()
    share = projection.explained_variance_ratio * 100
    axes.set_xlabel(f"PC 1 ({share[0]:.1f}% of variance)")
    axes.set_ylabel(f"PC 2 ({share[1]:.1f}% of variance)")
    axes.set_title(title)
    return axes


def _image_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise BadValueError(f"{path}: cannot write {suffix or 'no extension'!r} images; "
                         f"use one of {', '.join(FORMATS)}")
    return FORMATS[suffix]


def _matplotlib():
    """matplotlib's Figure and Agg canvas: no pyplot, so no global state or GUI backend."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return Figure, FigureCanvasAgg


def _rows_to_draw(movie_vectors, top, counts) -> np.ndarray:
    if top is None:
        return np.arange(len(movie_vectors))
    if counts is None:
        counts = movie_vectors.counts
    if counts is None:
        raise BadValueError("plotting the most-rated movies needs rating counts: pass counts=... "
                         "(ratings per movie) or top=None to draw every movie")
    counts = np.asarray(counts)
    if counts.shape != (len(movie_vectors),):
        raise BadValueError(f"counts has shape {counts.shape}, expected ({len(movie_vectors)},)")
    return np.argsort(-counts, kind="stable")[:top]


def _pairs(arrow) -> list:
    """``None``, one ``(src, dst)`` pair, or a list of pairs → a list of pairs."""
    if arrow is None:
        return []
    if len(arrow) == 2 and all(isinstance(end, (str, int, np.integer)) for end in arrow):
        return [tuple(arrow)]
    return [tuple(pair) for pair in arrow]


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _place_labels(axes, renderer, labels):
    """Greedy labelling: a label takes the first offset where it stays inside the frame and
    covers no other label or dot.

    ``labels`` are ``(xy, text, must_show)`` in priority order, the ``must_show`` ones first;
    a label with nowhere to go is dropped (its dot stays), unless ``must_show``: then it takes
    the last offset anyway.
    """
    dots = axes.transData.transform(np.array([xy for xy, _, _ in labels]))  # (n, 2) pixels
    dot_radius = renderer.points_to_pixels(DOT_RADIUS)
    frame = axes.get_window_extent(renderer)
    placed = []
    for i, (xy, text, must_show) in enumerate(labels):
        for attempt, (dx, dy, align) in enumerate(LABEL_OFFSETS):
            artist = axes.annotate(text, xy=xy, xytext=(dx, dy), textcoords="offset points",
                                   ha=align, fontsize=7.5 if must_show else 6.5, zorder=4,
                                   fontweight="bold" if must_show else "normal",
                                   color="C3" if must_show else "0.1",
                                   bbox=HALO if must_show else None)
            box = artist.get_window_extent(renderer)
            covered = _inside(box.padded(dot_radius), dots)
            covered[i] = False  # its own dot is right next to it by design
            fits = _inside(frame, box.corners()).all() and not covered.any() and not any(
                box.overlaps(other) for other in placed)
            last_chance = must_show and attempt == len(LABEL_OFFSETS) - 1
            if fits or last_chance:
                placed.append(box)
                break
            artist.remove()


def _inside(box, points) -> np.ndarray:
    x, y = points[:, 0], points[:, 1]
    return (box.x0 <= x) & (x <= box.x1) & (box.y0 <= y) & (y <= box.y1)


def _save_atomically(figure, path: Path, image_format: str) -> Path:
    with archive.atomic_file(path) as f:
        figure.savefig(f, format=image_format)
    return path
