"""Sentences on an estimator audit (:class:`nasviz.audit.core.Audit`): each estimator against its
baselines, the other estimators and the ceiling, what it finds at the top, its op and size biases.

Pure computation: no plotting imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nasviz.analysis.findings.bias import describe_size_bias
from nasviz.analysis.findings.comparisons import paired_verdict
from nasviz.analysis.findings.ranking import against_ceiling
from nasviz.analysis.findings.wording import CEILING_NOTES, format_ci
from nasviz.analysis.uncertainty import Estimate

__all__ = ['BASELINE_NAMES', 'describe_audit']

#: how the audit's baselines read in a sentence
BASELINE_NAMES = {'params': 'parameter count', 'flops': 'FLOPs', 'random': 'random scores'}


def _frac(k: str) -> str:
    """``'0.01'`` -> ``'1%'``; a count stays a count."""
    try:
        v = float(k)
    except ValueError:
        return str(k)
    return f'{v:.1%}'.replace('.0%', '%') if 0 < v < 1 else f'{int(v):,}'


def describe_audit(
    res: Any, names: Mapping[str, str] | None = None, what: str = 'architectures', top_k: str = '0.01', digits: int = 2
) -> list[str]:
    """Sentences on an audit (:class:`nasviz.audit.core.Audit`, read by its attributes): for each
    estimator its Kendall tau with its interval, *better* / *worse* / *level with* each baseline
    and each other estimator from the paired comparisons only (the detectable difference beside
    every *level with*), against the ceiling when disjoint; what it finds at the top (precision and
    best true rank of its predicted top ``top_k``, regret of its pick); its largest op bias and
    its size bias. ``names`` maps column names to words (default: baselines named, underscores
    read as spaces)."""
    names = dict(names or {})

    def label(e: str) -> str:
        return names.get(e, BASELINE_NAMES.get(e, str(e).replace('_', ' ')))

    m, c = res.metrics, res.comparisons
    out: list[str] = []
    head = f'{res.n:,} {what} audited'
    extras = []
    if getattr(res, 'merged', 0):
        extras.append(f'{res.merged:,} isomorphic duplicates merged first')
    dropped = {e: sum(v.values()) for e, v in (res.dropped or {}).items() if sum(v.values())}
    if dropped:
        extras.append('dropped as unusable: ' + ', '.join(f'{label(e)} {k:,}' for e, k in dropped.items()))
    out.append(
        head + (f' ({"; ".join(extras)})' if extras else '') + f', {res.settings.get("n_resamples")} '
        'bootstrap resamples of the architectures shared by every interval and paired comparison.'
    )

    def est(e: str, metric: str, k: str = '') -> Estimate | None:
        row = m[(m['estimator'] == e) & (m['metric'] == metric) & (m['k'] == k)]
        if row.empty:
            return None
        r = row.iloc[0]
        return Estimate(r['estimate'], r['low'], r['high'], int(r['n']), float(res.settings.get('level', 0.95)))

    ceiling = getattr(res, 'ceiling', None)
    for e in res.estimators:
        tau = est(e, 'kendall_tau')
        if tau is None:
            raise ValueError(f'audit metrics have no kendall_tau row for estimator {e!r}')
        clauses = []
        for other in list(res.baselines) + [o for o in res.estimators if o != e]:
            row = c[
                (c['metric'] == 'kendall_tau')
                & (c['k'] == '')
                & (((c['estimator'] == e) & (c['other'] == other)) | ((c['estimator'] == other) & (c['other'] == e)))
            ]
            if row.empty:
                continue
            r = row.iloc[0].to_dict()
            if r['estimator'] != e:  # stored as other - e: turn it round
                r = {**r, 'diff': -r['diff'], 'low': -r['high'], 'high': -r['low']}
            word, tail = paired_verdict(r, digits)
            ref = label(other)
            clauses.append(f'{"level with" if word == "level with" else word + " than"} {ref} ({tail})')
        if ceiling is not None:
            clauses.append(
                against_ceiling(
                    tau,
                    ceiling.corrected,
                    "the ground truth's own reliability",
                    digits,
                    'a separate training run of the truth'
                    if ceiling.kind == 'valid-as-predictor'
                    else CEILING_NOTES.get('reliability (Spearman-Brown)'),
                )
            )
        out.append(
            f'{label(e)[:1].upper() + label(e)[1:]} ranks {tau.n:,} {what} at Kendall tau '
            f'{format_ci(tau, digits)}: ' + '; '.join(clauses) + '.'
        )
        prec, best, reg = est(e, 'precision_top', top_k), est(e, 'best_rank', top_k), est(e, 'regret')
        if prec is not None and best is not None:
            kk = max(1, round(float(top_k) * tau.n)) if float(top_k) < 1 else int(float(top_k))
            text = (
                f'In its predicted top {_frac(top_k)} ({kk:,} {what}), {label(e)} finds '
                f'{format_ci(prec, digits)} of the true top {_frac(top_k)} '
                f'(chance {min(1.0, kk / tau.n):.{digits}g}); the best of them has true rank '
                f'{format_ci(best, 4)} of the space (BR@{_frac(top_k)}: the true rank as a share of the '
                'space, 1/n = the best)'
            )
            if reg is not None:
                text += (
                    f'; taking its single best pick loses {format_ci(reg, digits)} accuracy points against '
                    'the true best'
                )
            out.append(text + '.')
        ob = m[(m['estimator'] == e) & (m['metric'] == 'op_bias')]
        if not ob.empty:
            clear = ob[(ob['low'] > 0) | (ob['high'] < 0)]
            if clear.empty:
                out.append(f'{label(e)[:1].upper() + label(e)[1:]} shows no op bias whose interval excludes 0.')
            else:
                hi, lo = clear.loc[clear['estimate'].idxmax()], clear.loc[clear['estimate'].idxmin()]
                parts = []
                if hi['estimate'] > 0:
                    parts.append(
                        f'rewards {hi["k"]} beyond the truth (tau gap {hi["estimate"]:+.{digits}f} '
                        f'[{hi["low"]:+.{digits}f}, {hi["high"]:+.{digits}f}])'
                    )
                if lo['estimate'] < 0:
                    parts.append(
                        f'punishes {lo["k"]} beyond it ({lo["estimate"]:+.{digits}f} '
                        f'[{lo["low"]:+.{digits}f}, {lo["high"]:+.{digits}f}])'
                    )
                out.append(f'{label(e)[:1].upper() + label(e)[1:]} ' + ' and '.join(parts) + '.')
        sb = est(e, 'size_bias')
        if sb is not None:
            out.append(describe_size_bias(label(e)[:1].upper() + label(e)[1:], sb, digits))
    return out
