"""ISTA-NAS (Yang et al., NeurIPS 2020): architecture search as sparse coding, on NAS-Bench-201
and the DARTS cell space.

Every decision group (an NB201 edge: one op out of 5, coded over the 4 that are not ``none``; a
DARTS node: its candidate inputs x 7 ops; see :mod:`nasviz.search.groups`) owns a fixed, seeded
random sensing matrix ``A`` (``m x n``, unit-norm columns) and compressed architecture variables
``b`` in R^m. The architecture code ``z`` is recovered by the LASSO

    z = argmin_z  1/2 ||A z - b||^2 + lam ||z||_1        (optionally z >= 0)

solved by FISTA, batched over groups (:func:`fista`; groups with shorter codes are padded with
zero sensing columns). The support is the space's: NB201 one op per edge, the one of largest
``|z|`` (:func:`block_support`); DARTS the 2 strongest inputs per node, one op each
(:func:`~nasviz.search.groups.top2_cells`). The search network runs only the supported ops, each
output scaled by its ``z`` value (the space's weighted supernet in ``sparse`` mode), so the network
trained during the search is sparse at every step and is the network of the cell finally returned.

The search alternates (:func:`ista_search`): network weights by SGD on training batches, ``b``
by Adam on held-out batches, re-solving ``z`` after every change of ``b``. The gradient reaches
``b`` through ``z`` by the implicit function theorem on the LASSO's active set ``S``: there
``A_S^T (A_S z_S - b) + lam sign(z_S) = 0``, so ``dz_S/db = (A_S^T A_S)^+ A_S^T`` (exact where
the active set is locally constant; :func:`lasso_jacobian`). A group whose code is all zero
(empty active set) gets the gradient of the first ISTA step, ``t A^T``, so it can recover.

Pure computation: no plotting.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from nasviz.search.base import SearchConfig, SearchResult, check_lambda
from nasviz.search.bilevel import alternate
from nasviz.search.groups import block_gap, search_groups
from nasviz.search.one_stage import train_fixed_support
from nasviz.validate import check_count

# ---------------------------------------------------------------------------------------------
# Sparse coding
# ---------------------------------------------------------------------------------------------


def sensing_matrices(
    groups: int, m: int, n: int, seed: int = 0, dtype: torch.dtype = torch.float64, sizes=None
) -> torch.Tensor:
    """``(groups, m, n)`` Gaussian sensing matrices with unit-norm columns, seeded. ``sizes``
    (one per group, each <= ``n``): group ``g`` codes only its first ``sizes[g]`` coordinates; its
    other columns are zero (a zero column leaves its coordinate at 0 in every LASSO solution)."""
    groups = check_count(groups, 'groups')
    m = check_count(m, 'm')
    n = check_count(n, 'n')
    g = torch.Generator().manual_seed(int(seed))
    A = torch.randn(groups, m, n, generator=g, dtype=torch.float64)
    if sizes is not None:
        sizes = [check_count(k, 'sizes') for k in sizes]
        if len(sizes) != groups or max(sizes) > n:
            raise ValueError(f'sizes must give {groups} group sizes <= {n}, got {sizes}')
        A = A * (torch.arange(n).view(1, 1, n) < torch.tensor(sizes).view(groups, 1, 1))
    A = A / A.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return A.to(dtype)


def lasso_objective(A: torch.Tensor, b: torch.Tensor, z: torch.Tensor, lam: float) -> torch.Tensor:
    """Per-group objective ``1/2 ||A z - b||^2 + lam ||z||_1`` (shape ``(groups,)``)."""
    r = torch.einsum('gmn,gn->gm', A, z) - b
    return 0.5 * (r**2).sum(-1) + lam * z.abs().sum(-1)


def _check_ab(A: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, bool]:
    if not isinstance(A, torch.Tensor) or not isinstance(b, torch.Tensor):
        raise ValueError('A and b must be torch tensors')
    single = A.dim() == 2
    if single:
        A, b = A.unsqueeze(0), b.unsqueeze(0)
    if A.dim() != 3 or b.dim() != 2 or A.shape[0] != b.shape[0] or A.shape[1] != b.shape[1]:
        raise ValueError(f'A must be (groups, m, n) and b (groups, m); got A {tuple(A.shape)}, b {tuple(b.shape)}')
    return A, b, single


@torch.no_grad()
def fista(
    A: torch.Tensor,
    b: torch.Tensor,
    lam: float,
    n_iter: int = 200,
    tol: float = 1e-9,
    nonneg: bool = False,
    z0: torch.Tensor | None = None,
    return_history: bool = False,
):
    """Solve the LASSO for every group at once by FISTA (Beck & Teboulle 2009) with the
    monotone restart (a step that raises a group's objective is replaced by a plain ISTA step
    from the previous iterate, and its momentum reset), so the objective never increases.

    ``A``: ``(groups, m, n)`` or ``(m, n)``; ``b``: ``(groups, m)`` or ``(m,)``. Step size
    ``1 / L`` with ``L`` the largest eigenvalue of ``A^T A`` per group. ``nonneg`` adds the
    constraint ``z >= 0`` (prox = shifted ReLU). ``z0`` warm-starts it. Stops when no
    coordinate moves more than ``tol`` in a step, or after ``n_iter`` steps. Returns ``z``
    (same batch shape as ``b``), and with ``return_history`` also the ``(steps + 1, groups)``
    objective history.
    """
    lam = check_lambda(lam)
    n_iter = check_count(n_iter, 'n_iter')
    A, b, single = _check_ab(A, b)
    b = b.to(A.dtype)
    G, m, n = A.shape
    # Gram form: the gradient of 1/2||Az - b||^2 is Q z - c, the objective 1/2 z'Qz - c'z + const
    Q = A.transpose(1, 2) @ A
    c = (A.transpose(1, 2) @ b.unsqueeze(-1)).squeeze(-1)
    const = 0.5 * (b * b).sum(-1)
    t = (1.0 / torch.linalg.eigvalsh(Q)[:, -1].clamp_min(1e-12)).view(G, 1)
    thr = t * lam

    def objective(z: torch.Tensor) -> torch.Tensor:
        Qz = (Q @ z.unsqueeze(-1)).squeeze(-1)
        return (0.5 * Qz - c).mul(z).sum(-1) + const + lam * z.abs().sum(-1)

    def step(y: torch.Tensor) -> torch.Tensor:
        v = y - t * ((Q @ y.unsqueeze(-1)).squeeze(-1) - c)
        if nonneg:
            return torch.relu(v - thr)
        return torch.sign(v) * torch.relu(v.abs() - thr)

    z = torch.zeros(G, n, dtype=A.dtype) if z0 is None else z0.reshape(G, n).to(A.dtype).clone()
    if nonneg:
        z = z.clamp_min(0)
    y, mom = z.clone(), torch.ones(G, 1, dtype=A.dtype)
    f = objective(z)
    hist = [f.clone()] if return_history else None
    for _ in range(n_iter):
        z_new = step(y)
        f_new = objective(z_new)
        worse = f_new > f
        if bool(worse.any()):  # monotone FISTA: a proximal step from z instead, momentum restarted
            w = worse.view(G, 1)
            z_plain = step(z)
            z_new = torch.where(w, z_plain, z_new)
            f_new = torch.where(worse, objective(z_plain), f_new)
            mom_new = torch.where(w, torch.ones_like(mom), (1 + torch.sqrt(1 + 4 * mom * mom)) / 2)
            y = torch.where(w, z_new, z_new + ((mom - 1) / mom_new) * (z_new - z))
        else:
            mom_new = (1 + torch.sqrt(1 + 4 * mom * mom)) / 2
            y = z_new + ((mom - 1) / mom_new) * (z_new - z)
        moved = float((z_new - z).abs().max())
        z, f, mom = z_new, torch.minimum(f_new, f), mom_new
        if hist is not None:
            hist.append(f.clone())
        if moved <= tol:
            break
    z = z[0] if single else z
    if hist is not None:  # return_history
        return z, torch.stack(hist)
    return z


def lasso_jacobian(A: torch.Tensor, z: torch.Tensor, tol: float = 1e-9) -> torch.Tensor:
    """``dz/db`` of the LASSO solution ``z`` per group, ``(groups, n, m)``: on the active set
    ``S`` it is ``(A_S^T A_S)^+ A_S^T`` (implicit function theorem; zero rows off ``S``). A
    group with an empty active set gets ``t A^T`` (the first ISTA step's slope)."""
    single = A.dim() == 2
    if single:
        A, z = A.unsqueeze(0), z.unsqueeze(0)
    if A.dim() != 3 or z.shape != (A.shape[0], A.shape[2]):
        raise ValueError(f'A must be (groups, m, n) and z (groups, n); got {tuple(A.shape)}, {tuple(z.shape)}')
    G, m, n = A.shape
    J = torch.zeros(G, n, m, dtype=A.dtype)
    L = torch.linalg.matrix_norm(A, ord=2) ** 2
    for g in range(G):
        S = torch.nonzero(z[g].abs() > tol).flatten()
        if S.numel() == 0:
            J[g] = A[g].T / L[g].clamp_min(1e-12)
            continue
        As = A[g][:, S]
        J[g, S] = torch.linalg.pinv(As.T @ As) @ As.T
    return J[0] if single else J


def recovery_error(A: torch.Tensor, b: torch.Tensor, z: torch.Tensor) -> float:
    """Relative residual ``||A z - b|| / ||b||`` over all groups: how much of the compressed
    variables the sparse code does not explain."""
    r = torch.einsum('gmn,gn->gm', A, z) - b
    return float(r.norm() / b.norm().clamp_min(1e-12))


class SparseCode(nn.Module):
    """Compressed architecture variables ``b`` (a parameter, ``(groups, m)``) and their code
    ``z = fista(A, b)`` over the ``n`` coded choices of each group.

    ``sizes``: the coded dimension of each group (default: NAS-Bench-201's, the 4 ops that are not
    ``none`` on each edge); shorter groups are padded to the longest with zero sensing columns.
    ``expand``: code ``(groups, n)`` -> the network's weights (default: NAS-Bench-201's
    ``(groups, 5)`` in its op order, 0 in the ``none`` column: ``none`` is the empty code, scaling
    an op that outputs nothing would carry no gradient, so it is not a coordinate).

    ``forward()`` returns the expanded weights. The values are the LASSO solution; the gradient
    reaches ``b`` through :func:`lasso_jacobian` (``dL/db = J^T dL/dz``).
    """

    A: torch.Tensor  # the sensing matrices, a buffer

    def __init__(
        self,
        groups: int,
        m: int,
        lam: float,
        seed: int = 0,
        n_iter: int = 200,
        nonneg: bool = True,
        init: float = 1.0,
        sizes=None,
        expand=None,
        space: str = 'nb201',
    ) -> None:
        super().__init__()
        self.lam = check_lambda(lam)
        groups = check_count(groups, 'groups')
        if sizes is None:  # one code per group of ``space`` (default NB201: the 4 ops that are not none)
            sizes = (search_groups(space).group_sizes[0],) * groups
        self.sizes = tuple(int(k) for k in sizes)
        n = max(self.sizes)
        self._expand = expand if expand is not None else search_groups(space).expand
        self.m, self.n, self.n_iter, self.nonneg = check_count(m, 'm'), n, check_count(n_iter, 'n_iter'), nonneg
        uneven = any(k != n for k in self.sizes)
        self.register_buffer('A', sensing_matrices(groups, m, n, seed, sizes=self.sizes if uneven else None))
        # b = A z0 with z0 = init on every op (+ 5% seeded noise): no op is favoured, and the
        # LASSO picks the first support
        g = torch.Generator().manual_seed(int(seed) + 1)
        z0 = init * (1 + 0.05 * torch.randn(groups, n, generator=g, dtype=torch.float64))
        self.b = nn.Parameter(torch.einsum('gmn,gn->gm', self.A, z0))
        self._z: torch.Tensor | None = None
        self._z_for: torch.Tensor | None = None

    def get_extra_state(self) -> dict:
        # the warm start of the solver: part of a checkpoint, so a resumed search solves alike
        return {'z': self._z, 'z_for': self._z_for}

    def set_extra_state(self, state: dict) -> None:
        self._z, self._z_for = state['z'], state['z_for']

    def solve(self) -> torch.Tensor:
        """The LASSO code of the current ``b``, ``(groups, n)`` float64, no gradient (warm-started)."""
        b = self.b.detach()
        if self._z_for is None or not torch.equal(self._z_for, b):
            self._z = fista(
                self.A,
                b,
                self.lam,
                n_iter=self.n_iter,
                tol=1e-7,
                nonneg=self.nonneg,
                z0=self._z if self._z is not None else None,
            )
            self._z_for = b.clone()
        assert self._z is not None  # solved above or on an earlier call
        return self._z

    def expand(self, z: torch.Tensor) -> torch.Tensor:
        """``(groups, n)`` code -> the network's weights (NAS-Bench-201: ``(groups, 5)``, 0 in the
        ``none`` column)."""
        return self._expand(z)

    def weights(self) -> torch.Tensor:
        """Network weights of the current code, float64, no gradient."""
        return self.expand(self.solve())

    def forward(self) -> torch.Tensor:
        z = self.solve()
        if not torch.is_grad_enabled():
            return self.expand(z).float()
        J = lasso_jacobian(self.A, z)
        delta = self.b - self.b.detach()  # zero-valued, carries the gradient to b
        return self.expand(z + torch.einsum('gnm,gm->gn', J, delta)).float()


__all__ = [
    'check_lambda',
    'sensing_matrices',
    'lasso_objective',
    'fista',
    'lasso_jacobian',
    'recovery_error',
    'block_gap',
    'SparseCode',
]


# ---------------------------------------------------------------------------------------------
# The search
# ---------------------------------------------------------------------------------------------
def ista_search(cfg: SearchConfig, data, progress: bool = True, checkpoint_dir=None, full_data=None) -> SearchResult:
    """ISTA-NAS on ``cfg.space``: returns a :class:`~nasviz.search.base.SearchResult` whose
    history holds, per epoch, the code ``z`` expanded to the network's weights (``weights``:
    NB201 6 x 5, DARTS 2 x 14 x 7), the cell it selects, the number of support changes, the
    recovery error ``||Az - b|| / ||b||`` and the block gap (share of ``|z|`` outside the
    support). ``data`` is the search view (:func:`~nasviz.search.base.split_for_search`);
    ``checkpoint_dir`` makes it resumable (:func:`~nasviz.search.bilevel.alternate`).

    ``cfg.one_stage``: then the support is fixed at the found cell, with the code's values on it
    kept as fixed scales, and the same weights train on for ``cfg.n_final_epochs`` epochs on the
    whole training split of ``full_data`` (required; the data ``data`` is a view of); the result
    adds ``final_history`` and the network's own accuracy on ``full_data``'s test split
    (:mod:`nasviz.search.one_stage`). The search phase is the same as without the option."""
    if cfg.one_stage and full_data is None:
        raise ValueError('one_stage needs full_data: the dataset whose whole training split the final training uses')
    t0 = time.perf_counter()
    groups = search_groups(cfg.space)
    torch.manual_seed(cfg.seed)
    model = groups.weighted_supernet(cfg.C, cfg.N, data.num_classes, data.in_channels)
    code = SparseCode(
        groups.n_groups,
        cfg.m,
        cfg.lam,
        seed=cfg.seed,
        n_iter=cfg.fista_iters,
        nonneg=cfg.nonneg,
        sizes=groups.group_sizes,
        expand=groups.expand,
    )

    def on_epoch(epoch: int) -> dict:
        z = code.solve()
        return dict(
            weights=code.expand(z).float().tolist(),
            recovery_error=recovery_error(code.A, code.b.detach(), z),
            block_gap=groups.gap(z),
            nonzeros=int((z.abs() > 1e-9).sum()),
        )

    # no weight decay on b: it would shrink every code towards the empty code (NB201: none)
    hist, step = alternate(
        model,
        code,
        code,
        groups.support,
        'sparse',
        data,
        cfg,
        on_epoch=on_epoch,
        progress=progress,
        desc='ISTA-NAS search',
        arch_weight_decay=0.0,
        checkpoint_dir=checkpoint_dir,
    )
    arch = hist['arch'].iloc[-1]
    if not cfg.one_stage:
        return SearchResult('ista', arch, cfg, time.perf_counter() - t0, hist, step=step)
    final, acc, loss = train_fixed_support(
        model, code, groups.support, full_data, cfg, progress=progress, checkpoint_dir=checkpoint_dir
    )
    return SearchResult(
        'ista',
        arch,
        cfg,
        time.perf_counter() - t0,
        hist,
        step=step,
        final_history=final,
        network_accuracy=acc,
        network_loss=loss,
    )


__all__ += ['ista_search']
