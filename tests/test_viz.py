"""PCA against a direct eigendecomposition; maps written as PNG and SVG."""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numpy_movievec.vectors import MovieVectors
from numpy_movievec.viz import pca, plot_map


def eigen_pca(x, k):
    """Reference PCA: eigenvectors of the covariance matrix, largest eigenvalues first."""
    centred = x - x.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(centred, rowvar=False))
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    return centred @ eigenvectors[:, :k], eigenvalues[:k] / eigenvalues.sum(), eigenvectors[:, :k].T


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 6), st.integers(1, 3))
def test_pca_matches_the_eigendecomposition_of_the_covariance(seed, dim, k):
    rng = np.random.default_rng(seed)
    # Clearly different spreads per axis, so the principal directions are well defined.
    spreads = 2.0 ** -np.arange(dim)
    x = rng.normal(size=(50, dim)) * spreads @ random_rotation(rng, dim) + rng.normal(size=dim)
    k = min(k, dim)
    result = pca(x, k)
    coords, ratio, components = eigen_pca(x, k)
    signs = np.sign(np.sum(result.components * components, axis=1))  # eigenvectors have no sign
    np.testing.assert_allclose(result.components, components * signs[:, None], atol=1e-8)
    np.testing.assert_allclose(result.coords, coords * signs, atol=1e-8)
    np.testing.assert_allclose(result.explained_variance_ratio, ratio, atol=1e-10)
    np.testing.assert_allclose(result.transform(x), result.coords, atol=1e-10)


def random_rotation(rng, dim):
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return q


def test_pca_signs_are_fixed():
    x = np.random.default_rng(3).normal(size=(20, 4))
    for data in (x, -x):
        components = pca(data, 3).components
        largest = components[np.arange(3), np.abs(components).argmax(axis=1)]
        assert (largest > 0).all()


def test_pca_of_identical_points_is_zero_not_nan():
    result = pca(np.ones((4, 3)), 2)
    assert not np.isnan(result.coords).any() and not np.isnan(result.explained_variance_ratio).any()


def test_pca_rejects_impossible_component_counts():
    with pytest.raises(ValueError, match="3 components"):
        pca(np.ones((5, 2)), 3)
    with pytest.raises(ValueError, match="0 components"):
        pca(np.ones((5, 2)), 0)


def test_movie_vectors_pca_uses_unit_vectors():
    vecs = MovieVectors([[1, 0], [0, 5], [3, 3]])
    np.testing.assert_allclose(vecs.pca(2).coords, pca(vecs.unit_vectors, 2).coords)


# -- plots ---------------------------------------------------------------------------------------

@pytest.fixture
def vecs():
    rng = np.random.default_rng(0)
    titles = [f"Movie number {i} with a rather long title indeed" for i in range(60)]
    titles[:3] = ["Ringu", "The Ring", "Yojimbo"]
    return MovieVectors(rng.normal(size=(60, 8)), titles=titles, counts=rng.integers(1, 100, 60))


def test_png_map_with_an_arrow(vecs, tmp_path):
    path = vecs.plot(tmp_path / "map.png", top=20, arrow=("Ringu", "The Ring"))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]  # no temporary file left behind


def test_svg_map_with_several_arrows_and_rare_arrow_ends(vecs, tmp_path):
    rare = int(np.argmin(vecs.counts))
    path = plot_map(vecs, tmp_path / "map.SVG", top=10, title="Offsets",
                    arrow=[("Ringu", "The Ring"), ("Yojimbo", rare)])
    text = path.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_plot_counts_argument_overrides_stored_counts(tmp_path):
    vecs = MovieVectors(np.random.default_rng(1).normal(size=(5, 3)))
    with pytest.raises(ValueError, match="counts"):
        vecs.plot(tmp_path / "map.png", top=3)
    assert vecs.plot(tmp_path / "map.png", top=3, counts=[5, 4, 3, 2, 1]).exists()
    assert vecs.plot(tmp_path / "all.png", top=None).exists()


def test_unknown_image_format_is_refused_by_name(vecs, tmp_path):
    with pytest.raises(ValueError, match="'.jpg'"):
        vecs.plot(tmp_path / "map.jpg")
    assert not list(tmp_path.iterdir())


def test_missing_matplotlib_says_how_to_install_it(vecs, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r"pip install 'numpy_movievec\[plot\]'"):
        vecs.plot(tmp_path / "map.png")


def test_bad_plot_arguments_are_the_librarys_value_errors(vecs, tmp_path):
    from numpy_movievec.checks import BadValueError

    with pytest.raises(BadValueError, match="a map needs at least 2 movies and 2 dimensions; "
                                            "got 1 movie of 8 dimensions"):
        vecs.plot(tmp_path / "map.png", top=1)
    flat = MovieVectors(np.ones((4, 1)), counts=[1, 2, 3, 4])
    with pytest.raises(BadValueError, match="got 4 movies of 1 dimension$"):
        flat.plot(tmp_path / "map.png")
    for call in (lambda: vecs.plot(tmp_path / "map.gif"),
                 lambda: MovieVectors(np.eye(3)).plot(tmp_path / "map.png"),
                 lambda: vecs.plot(tmp_path / "map.png", counts=[1, 2]),
                 lambda: pca(np.ones((5, 2)), 3)):
        with pytest.raises(BadValueError):
            call()
    assert not list(tmp_path.iterdir())
