"""Adadelta, the seed's optimizer, with an exact row-sparse update for embedding tables."""

from __future__ import annotations

import numpy as np

from .layers import RowGradient

STATE_SLOTS = ("accum_grad", "accum_update", "row_step")


def adadelta_rule(grad, accum_grad, accum_update, rho, eps):
    """One Adadelta step for any block of parameters; returns ``(delta, accum_grad, accum_update)``.

    The parameter then moves by ``-lr * delta``. Written as Keras 2 and ``torch.optim.Adadelta``
    write it, operation for operation, so float32 results agree to rounding.
    """
    accum_grad = rho * accum_grad + (1 - rho) * grad * grad
    delta = np.sqrt(accum_update + eps) / np.sqrt(accum_grad + eps) * grad
    accum_update = rho * accum_update + (1 - rho) * delta * delta
    return delta, accum_grad, accum_update


class Adadelta:
    """Adadelta (Zeiler 2012) with Keras 2's defaults; the state is kept per parameter name.

    For a parameter p with gradient g, two running averages a (of g²) and d (of Δ²):

        a ← ρ a + (1 − ρ) g²
        Δ ← g · √(d + ε) / √(a + ε)
        d ← ρ d + (1 − ρ) Δ²
        p ← p − lr · Δ

    A row-sparse gradient (`RowGradient`, from an embedding) updates only its rows, yet gives
    exactly the dense result. A row with no gradient in a step has g = 0, so Δ = 0, p stays, and
    both averages just shrink by ρ. So each row records the step it was last brought up to date
    (``row_step``); when the row is next touched, k steps later, its averages are first
    multiplied by ρ^k. `synchronize` brings every row up to date, e.g. before comparing or
    saving.

    ``decay_untouched_rows=False`` drops that catch-up, which is what TensorFlow 2's sparse
    Adadelta does: a row's averages then only change in the steps that use the row. It is not
    what the seed (Keras 2, dense) trained with, hence not the default.

    >>> params = {"w": np.ones(3, dtype=np.float32)}
    >>> opt = Adadelta()
    >>> opt.step(params, {"w": np.ones(3, dtype=np.float32)})
    >>> params["w"].round(5)  # the first steps of Adadelta are tiny: about sqrt(eps / (1 - rho))
    array([0.99859, 0.99859, 0.99859], dtype=float32)
    """

    def __init__(self, lr: float = 1.0, rho: float = 0.95, eps: float = 1e-7,
                 decay_untouched_rows: bool = True):
        if not lr > 0 or not 0 <= rho < 1 or not eps > 0:
            raise ValueError(f"need lr > 0, 0 <= rho < 1 and eps > 0; got lr={lr}, rho={rho}, eps={eps}")
        self.lr, self.rho, self.eps = float(lr), float(rho), float(eps)
        self.decay_untouched_rows = bool(decay_untouched_rows)
        self.iterations = 0  # steps taken so far
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def __repr__(self) -> str:
        return (f"Adadelta(lr={self.lr}, rho={self.rho}, eps={self.eps}, "
                f"decay_untouched_rows={self.decay_untouched_rows}, iterations={self.iterations})")

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place from ``grads`` (same names; arrays or `RowGradient`).

        Parameters absent from ``grads`` are left alone in this step.
        """
        for name, grad in grads.items():
            param = params[name]
            if isinstance(grad, RowGradient):
                self._update_rows(name, param, grad.rows, grad.values)
            else:
                self._update_rows(name, param, slice(None), grad)
        self.iterations += 1

    def _update_rows(self, name, param, rows, grad):
        """Catch the rows' averages up to this step, then apply the Adadelta rule to them."""
        state = self.state_for(name, param)
        accum_grad, accum_update = self._caught_up(state, rows)
        delta, state["accum_grad"][rows], state["accum_update"][rows] = adadelta_rule(
            grad, accum_grad, accum_update, self.rho, self.eps)
        state["row_step"][rows] = self.iterations + 1
        param[rows] -= self.lr * delta

    def _caught_up(self, state, rows):
        """The averages of ``rows`` as they stand at the current step (copies)."""
        accum_grad, accum_update = state["accum_grad"][rows], state["accum_update"][rows]
        if not self.decay_untouched_rows:
            return accum_grad, accum_update
        skipped = self.iterations - state["row_step"][rows]  # (R,) steps the row sat out
        decay = np.power(self.rho, skipped).astype(accum_grad.dtype)
        decay = decay.reshape(decay.shape + (1,) * (accum_grad.ndim - 1))  # broadcast over row
        return decay * accum_grad, decay * accum_update

    def state_for(self, name, param) -> dict:
        """The state of parameter ``name`` (created at zero for a new one): the averages
        ``accum_grad`` and ``accum_update`` shaped like ``param``, and per row the step
        ``row_step`` up to which they are current."""
        if name not in self.state:
            self.state[name] = {
                "accum_grad": np.zeros_like(param),
                "accum_update": np.zeros_like(param),
                "row_step": np.full(len(param), self.iterations, dtype=np.int64),
            }
        return self.state[name]

    def synchronize(self, names=None) -> None:
        """Bring every row's averages up to the current step (what a dense update would hold).

        ``names`` limits this to some parameters; by default all are synchronized.
        """
        for name in self.state if names is None else names:
            if name not in self.state:
                continue
            state = self.state[name]
            state["accum_grad"][...], state["accum_update"][...] = self._caught_up(state, slice(None))
            state["row_step"][...] = self.iterations

    # -- saving ------------------------------------------------------------------------------

    def state_dict(self):
        """``(config, arrays)``: hyper-parameters and step count as JSON, state as flat arrays.

        Arrays are named ``"<parameter>/<slot>"``; `from_state_dict` inverts this.
        """
        config = dict(name="Adadelta", lr=self.lr, rho=self.rho, eps=self.eps,
                      decay_untouched_rows=self.decay_untouched_rows, iterations=self.iterations)
        arrays = {f"{name}/{slot}": state[slot]
                  for name, state in self.state.items() for slot in STATE_SLOTS}
        return config, arrays

    @classmethod
    def from_state_dict(cls, config: dict, arrays: dict) -> "Adadelta":
        config = dict(config)
        if config.pop("name", "Adadelta") != "Adadelta":
            raise ValueError(f"saved optimizer is not Adadelta: {config}")
        iterations = config.pop("iterations")
        opt = cls(**config)
        opt.iterations = iterations
        for key, value in arrays.items():
            name, slot = key.rsplit("/", 1)
            if slot not in STATE_SLOTS:
                raise ValueError(f"unknown optimizer state entry {key!r}")
            opt.state.setdefault(name, {})[slot] = np.array(value)
        return opt
