"""Figures of injectivity: maximal-bias certificates and redundancy heat maps."""

import numpy as np

from ..exceptions import ValidationError
from .style import PALETTE, _get_ax, _mpl

def plot_maximal_bias(W, certificate, *, ax=None, hyperplanes=True):
    """A maximal-bias certificate on the circle (n = 2) or the sphere (n = 3).

    Each neuron is drawn as its unit direction ``u_i = phi_i / |phi_i|`` with the
    bias as signed radius: the point ``alpha_hat_i u_i``, the foot of the
    hyperplane ``<x, u_i> = alpha_hat_i`` beyond which the neuron is active.  In 2D
    the hyperplanes are drawn as chords of the unit circle.

    Parameters
    ----------
    W : (m, 2) or (m, 3) float
        Layer weights (rows ``phi_i``).
    certificate : BiasCertificate or (m,) float
        From :func:`polyfold.injectivity.maximal_bias` (its ``alpha_hat``), or the
        normalised biases ``alpha_hat`` themselves.
    ax : matplotlib Axes, optional
        A 3D axes for n = 3 (created when omitted).
    hyperplanes : bool
        Draw the chords (2D only).

    Returns
    -------
    dict
        ``"directions"``, ``"biases"`` and (2D) ``"hyperplanes"``, ``"circle"``.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[1] not in (2, 3):
        raise ValidationError(
            f"plot_maximal_bias draws layers with 2 or 3 inputs, got W of shape {W.shape}; "
            "use plot_redundancy or a histogram of alpha_hat for larger inputs."
        )
    ah = np.asarray(getattr(certificate, "alpha_hat", certificate), dtype=np.float64).ravel()
    if ah.shape != (W.shape[0],):
        raise ValidationError(
            f"certificate must give one alpha_hat per row of W ({W.shape[0]}), got {ah.shape}."
        )
    norms = np.linalg.norm(W, axis=1)
    if np.any(norms == 0):
        raise ValidationError("W has a zero row; a zero neuron has no direction.")
    U = W / norms[:, None]
    F = ah[:, None] * U
    if W.shape[1] == 2:
        from matplotlib.collections import LineCollection

        ax = _get_ax(ax)
        th = np.linspace(0, 2 * np.pi, 256)
        (circle,) = ax.plot(np.cos(th), np.sin(th), color="0.6", linewidth=0.6)
        dirs = ax.quiver(np.zeros(len(U)), np.zeros(len(U)), U[:, 0], U[:, 1], angles="xy",
                         scale_units="xy", scale=1, width=0.006, color=PALETTE[0], alpha=0.5)
        chords = None
        if hyperplanes:
            segs = []
            for u, a in zip(U, ah):
                if abs(a) < 1:
                    h = np.sqrt(1 - a * a)
                    perp = np.array([-u[1], u[0]])
                    segs.append((a * u - h * perp, a * u + h * perp))
            chords = LineCollection(segs, colors=PALETTE[3], linewidths=0.8)
            ax.add_collection(chords)
        bias = ax.scatter(F[:, 0], F[:, 1], s=8, color=PALETTE[3], zorder=4,
                          label=r"$\hat\alpha_i u_i$")
        ax.set_aspect("equal")
        ax.set_xlim(-1.1, 1.1)
        ax.set_ylim(-1.1, 1.1)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        return {"directions": dirs, "biases": bias, "hyperplanes": chords, "circle": circle}
    if ax is None:
        ax = _get_ax(None, projection="3d")
    if not hasattr(ax, "zaxis"):
        raise ValidationError("a layer with 3 inputs needs a 3D axes (projection='3d').")
    uu, vv = np.meshgrid(np.linspace(0, 2 * np.pi, 24), np.linspace(0, np.pi, 12))
    sphere = ax.plot_wireframe(np.cos(uu) * np.sin(vv), np.sin(uu) * np.sin(vv), np.cos(vv),
                               color="0.8", linewidth=0.3)
    dirs = [ax.plot([0, u[0]], [0, u[1]], [0, u[2]], color=PALETTE[0], alpha=0.5,
                    linewidth=0.8)[0] for u in U]
    bias = ax.scatter(F[:, 0], F[:, 1], F[:, 2], s=8, color=PALETTE[3], depthshade=False)
    ax.set_box_aspect((1, 1, 1))
    for axis in ("x", "y", "z"):
        getattr(ax, f"set_{axis}ticks")([-1, 0, 1])
        getattr(ax, f"set_{axis}label")(f"${axis}$", labelpad=-8)
    ax.tick_params(pad=-2)
    return {"directions": dirs, "biases": bias, "sphere": sphere}


def plot_redundancy(values, *, dims, redundancies, ax=None, label="", cmap=None, annotate=True,
                    vmin=None, vmax=None):
    """Heat map of a quantity over input dimension ``n`` and redundancy ``m / n``.

    Parameters
    ----------
    values : (len(dims), len(redundancies)) float
        E.g. the share of random layers that are injective, or the mean maximal bias.
    dims : sequence of int
        Input dimensions ``n`` (rows).
    redundancies : sequence of float
        Redundancies ``m / n`` (columns).
    label : str
        Colour-bar label.

    Returns
    -------
    dict
        ``"image"``, ``"colorbar"``, ``"texts"``.
    """
    V = np.asarray(values, dtype=np.float64)
    dims, reds = list(dims), list(redundancies)
    if V.shape != (len(dims), len(reds)):
        raise ValidationError(
            f"values must have shape (len(dims), len(redundancies)) = ({len(dims)}, {len(reds)}), "
            f"got {V.shape}."
        )
    ax = _get_ax(ax)
    cm = _mpl().colormaps[cmap or "cividis"].with_extremes(bad="0.9")
    im = ax.imshow(np.ma.masked_invalid(V), cmap=cm, origin="lower", aspect="auto",
                   vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(reds)), [f"{r:g}" for r in reds])
    ax.set_yticks(range(len(dims)), [str(d) for d in dims])
    ax.set_xlabel("redundancy m / n")
    ax.set_ylabel("input dimension n")
    for sp in ax.spines.values():
        sp.set_visible(False)
    texts = []
    if annotate:
        lo, hi = np.nanmin(V) if np.isfinite(V).any() else 0, np.nanmax(V) if np.isfinite(V).any() else 1
        for i in range(V.shape[0]):
            for j in range(V.shape[1]):
                if np.isfinite(V[i, j]):
                    light = (V[i, j] - lo) > 0.6 * (hi - lo)
                    texts.append(ax.text(j, i, f"{V[i, j]:.2f}", ha="center", va="center",
                                         fontsize="xx-small", color="black" if light else "white"))
    cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cb.set_label(label)
    cb.outline.set_linewidth(0.4)
    return {"image": im, "colorbar": cb, "texts": texts}
