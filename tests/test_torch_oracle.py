"""PyTorch as the oracle: the same weights give the same loss, gradients and Adadelta steps.

PyTorch is optional; CI installs ``torch==2.13.0`` (the ``oracle`` extra) so these run there.
"""

import numpy as np
import pytest

from numpy_movievec import Adadelta, RatingNet

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install 'numpy_movievec[oracle]'")
from benchmarks.torch_seed import TorchRatingNet, mse_loss  # noqa: E402

ARCHITECTURES = [dict(dim=40, hidden=(64, 64, 64)), dict(dim=5, hidden=()), dict(dim=3, hidden=(7, 2))]


def batches(rng, net, batch, count):
    for _ in range(count):
        yield (rng.integers(0, net.n_movies, batch), rng.integers(0, net.n_users, batch),
               rng.integers(1, 6, batch).astype(np.int8))


def torch_loss_and_grads(model, movies, users, ratings, l2=0.0):
    """Loss and gradients by autograd; ``l2`` as Surprise's SVD regularises: per example."""
    model.zero_grad()
    loss = mse_loss(model, movies, users, ratings)
    if l2:
        vectors = torch.cat([model.movie_embedding(torch.as_tensor(movies)),
                             model.user_embedding(torch.as_tensor(users))], dim=1)
        loss = loss + l2 * (vectors ** 2).sum(dim=1).mean()
    loss.backward()
    return loss.item(), model.grads_like_ours()


@pytest.mark.parametrize("l2", [0.0, 0.05])
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_loss_and_gradients_equal_autograd_in_float64(arch, l2):
    net = RatingNet(30, 50, seed=1, l2=l2, **arch)
    net.params = {k: v.astype(np.float64) for k, v in net.params.items()}
    model = TorchRatingNet.from_params(net.params, dtype=torch.float64)
    movies, users, ratings = next(batches(np.random.default_rng(0), net, 64, 1))  # repeated ids
    loss, grads = net.loss_and_grads(movies, users, ratings)
    torch_loss, torch_grads = torch_loss_and_grads(model, movies, users, ratings, l2)
    assert loss == pytest.approx(torch_loss, rel=1e-12)
    for name in net.params:
        np.testing.assert_allclose(grads[name], torch_grads[name], rtol=1e-9, atol=1e-14, err_msg=name)


def test_loss_and_gradients_equal_autograd_in_float32():
    net = RatingNet(30, 50, seed=2)
    model = TorchRatingNet.from_params(net.params)
    movies, users, ratings = next(batches(np.random.default_rng(1), net, 256, 1))
    loss, grads = net.loss_and_grads(movies, users, ratings)
    torch_loss, torch_grads = torch_loss_and_grads(model, movies, users, ratings)
    assert loss == pytest.approx(torch_loss, rel=1e-5)
    for name in net.params:
        assert grads[name].dtype == np.float32
        scale = np.abs(torch_grads[name]).max()
        np.testing.assert_allclose(grads[name], torch_grads[name], rtol=1e-4, atol=1e-5 * scale,
                                   err_msg=name)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense-grads", "row-sparse"])
@pytest.mark.parametrize("lr, rho, eps", [(1.0, 0.95, 1e-7), (0.5, 0.9, 1e-6)])
def test_fifty_adadelta_steps_equal_torch_optim_adadelta(sparse, lr, rho, eps):
    net = RatingNet(40, 60, dim=8, hidden=(16, 16), seed=3)
    start = {name: p.copy() for name, p in net.params.items()}
    model = TorchRatingNet.from_params(net.params)
    opt = Adadelta(lr=lr, rho=rho, eps=eps)
    torch_opt = torch.optim.Adadelta(model.parameters(), lr=lr, rho=rho, eps=eps)
    for movies, users, ratings in batches(np.random.default_rng(4), net, 32, 50):
        _, grads = net.loss_and_grads(movies, users, ratings, sparse=sparse)
        opt.step(net.params, grads)
        torch_loss_and_grads(model, movies, users, ratings)
        torch_opt.step()

    opt.synchronize()
    for name, tensor, transposed in model.named_like_ours():
        theirs = tensor.detach().numpy()
        square_avg = torch_opt.state[tensor]["square_avg"].numpy()
        if transposed:
            theirs, square_avg = theirs.T, square_avg.T
        assert not np.array_equal(theirs, start[name]), f"{name} never moved: nothing compared"
        np.testing.assert_allclose(net.params[name], theirs, rtol=2e-6, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(opt.state[name]["accum_grad"], square_avg,
                                   rtol=1e-4, atol=1e-12, err_msg=name)
