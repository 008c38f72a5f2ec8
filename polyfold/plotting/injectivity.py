"""Figures of injectivity: maximal-bias certificates and redundancy heat maps.

:func:`plot_maximal_bias` (circle or sphere), :func:`plot_redundancy` (a heat
map over input dimension and redundancy) and :func:`maximal_bias_figure`, the
four panels of the demo with one legend for the symbols.
"""

import numpy as np

from .._validation import as_float_array
from ..exceptions import ValidationError
from .style import (PALETTE, _check_flag, _closing_on_error, _colormap, _get_ax,
                    _new_figure, _text_colour)

#: labels of the three kinds of marks of :func:`plot_maximal_bias`
_BIAS_LABELS = {
    "directions": r"neuron direction $u_i = \phi_i / |\phi_i|$",
    "hyperplanes": r"hyperplane $\langle x, u_i\rangle = \hat\alpha_i$",
    "biases": r"bias point $\hat\alpha_i u_i$",
}

def plot_maximal_bias(W, certificate, *, ax=None, hyperplanes=True, legend=True):
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
    legend : bool
        Explain the arrows (neuron directions), lines (hyperplanes) and dots
        (bias points) in a legend.

    Returns
    -------
    dict
        ``"directions"``, ``"biases"`` and (2D) ``"hyperplanes"``, ``"circle"``.
    """
    if W is None:
        raise ValidationError("W must be an (m, 2) or (m, 3) array of layer weights, got None.")
    W = as_float_array(W, "W")
    if W.ndim != 2 or W.shape[1] not in (2, 3) or W.shape[0] == 0:
        raise ValidationError(
            f"plot_maximal_bias draws layers with 2 or 3 inputs and at least one neuron, got W "
            f"of shape {W.shape}; use plot_redundancy or a histogram of alpha_hat for larger "
            "inputs."
        )
    _check_flag(hyperplanes, "hyperplanes")
    _check_flag(legend, "legend")
    cert = getattr(certificate, "alpha_hat", certificate)
    if cert is None:
        raise ValidationError(
            "certificate must be a BiasCertificate (polyfold.injectivity.maximal_bias) or the "
            f"({W.shape[0]},) alpha_hat values, got None."
        )
    ah = as_float_array(cert, "certificate alpha_hat").ravel()
    if ah.shape != (W.shape[0],):
        raise ValidationError(
            f"certificate must give one alpha_hat per row of W ({W.shape[0]}), got {ah.shape}."
        )
    norms = np.linalg.norm(W, axis=1)
    if np.any(norms == 0):
        raise ValidationError("W has a zero row; a zero neuron has no direction.")
    U = W / norms[:, None]
    F = ah[:, None] * U
    # one solid colour per kind of mark (no transparency: overlaps keep their shade)
    c_dir, c_bias = PALETTE[5], PALETTE[3]
    if W.shape[1] == 2:
        from matplotlib.collections import LineCollection

        ax = _get_ax(ax)
        th = np.linspace(0, 2 * np.pi, 256)
        (circle,) = ax.plot(np.cos(th), np.sin(th), color="0.6", linewidth=0.6)
        dirs = ax.quiver(np.zeros(len(U)), np.zeros(len(U)), U[:, 0], U[:, 1], angles="xy",
                         scale_units="xy", scale=1, width=0.006, color=c_dir,
                         label=_BIAS_LABELS["directions"])
        chords = None
        if hyperplanes:
            segs = []
            for u, a in zip(U, ah):
                if abs(a) < 1:
                    h = np.sqrt(1 - a * a)
                    perp = np.array([-u[1], u[0]])
                    segs.append((a * u - h * perp, a * u + h * perp))
            chords = LineCollection(segs, colors=c_bias, linewidths=0.8,
                                    label=_BIAS_LABELS["hyperplanes"])
            ax.add_collection(chords)
        bias = ax.scatter(F[:, 0], F[:, 1], s=10, color="black", zorder=4,
                          label=_BIAS_LABELS["biases"])
        ax.set_aspect("equal")
        ax.set_xlim(-1.1, 1.1)
        ax.set_ylim(-1.1, 1.1)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        if legend:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="x-small")
        return {"directions": dirs, "biases": bias, "hyperplanes": chords, "circle": circle}
    if ax is None:
        ax = _get_ax(None, projection="3d")
    if not hasattr(ax, "zaxis"):
        raise ValidationError("a layer with 3 inputs needs a 3D axes (projection='3d').")
    uu, vv = np.meshgrid(np.linspace(0, 2 * np.pi, 24), np.linspace(0, np.pi, 12))
    sphere = ax.plot_wireframe(np.cos(uu) * np.sin(vv), np.sin(uu) * np.sin(vv), np.cos(vv),
                               color="0.85", linewidth=0.3)
    dirs = [ax.plot([0, u[0]], [0, u[1]], [0, u[2]], color=c_dir, linewidth=0.9,
                    label=_BIAS_LABELS["directions"] if k == 0 else None)[0]
            for k, u in enumerate(U)]
    bias = ax.scatter(F[:, 0], F[:, 1], F[:, 2], s=10, color="black", depthshade=False,
                      label=_BIAS_LABELS["biases"])
    ax.set_box_aspect((1, 1, 1), zoom=1.25)
    for axis in ("x", "y", "z"):
        getattr(ax, f"set_{axis}ticks")([-1, 0, 1])
        getattr(ax, f"set_{axis}label")(f"${axis}$", labelpad=-8)
    ax.tick_params(pad=-2)
    if legend:
        ax.legend(loc="upper left", fontsize="x-small")
    return {"directions": dirs, "biases": bias, "sphere": sphere}


def plot_redundancy(values, *, dims, redundancies, ax=None, label="", cmap=None, annotate=True,
                    vmin=None, vmax=None, title=None, missing="none"):
    """Heat map of a quantity over input dimension ``n`` and redundancy ``m / n``.

    Parameters
    ----------
    values : (len(dims), len(redundancies)) float
        E.g. the share of random layers that are injective, or the mean maximal bias.
        NaN cells (no value) are grey and annotated with ``missing``.
    dims : sequence of int
        Input dimensions ``n`` (rows).
    redundancies : sequence of float
        Redundancies ``m / n`` (columns).
    label : str
        Colour-bar label.
    annotate : bool
        Write the values in the cells (black or white, whichever reads on the cell).
    title : str, optional
    missing : str
        Text of NaN cells.

    Returns
    -------
    dict
        ``"image"``, ``"colorbar"``, ``"texts"``.
    """
    import numbers

    if values is None:
        raise ValidationError("values must be a (len(dims), len(redundancies)) array, got None.")
    V = as_float_array(values, "values", finite=False)
    if np.any(np.isinf(V)):
        raise ValidationError(
            "values holds infinity; use NaN for cells without a value (drawn grey)."
        )
    for name, seq in (("dims", dims), ("redundancies", redundancies)):
        if seq is None or isinstance(seq, (str, bytes)) or not hasattr(seq, "__iter__"):
            raise ValidationError(f"{name} must be a sequence of numbers, got {seq!r}.")
    dims, reds = list(dims), list(redundancies)
    for name, seq in (("dims", dims), ("redundancies", reds)):
        bad = [v for v in seq if isinstance(v, bool) or not isinstance(v, numbers.Real)]
        if bad:
            raise ValidationError(f"{name} must hold numbers, got {bad[0]!r}.")
    for name, v in (("vmin", vmin), ("vmax", vmax)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)
                              or not np.isfinite(v)):
            raise ValidationError(f"{name} must be a finite number or None, got {v!r}.")
    if vmin is not None and vmax is not None and vmin > vmax:
        raise ValidationError(f"vmin must be <= vmax, got vmin={vmin!r} > vmax={vmax!r}.")
    _check_flag(annotate, "annotate")
    if V.shape != (len(dims), len(reds)) or V.size == 0:
        raise ValidationError(
            f"values must have shape (len(dims), len(redundancies)) = ({len(dims)}, {len(reds)}), "
            f"not empty, got {V.shape}."
        )
    ax = _get_ax(ax)
    cm = _colormap(cmap, "cividis").with_extremes(bad="0.88")
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
        for i in range(V.shape[0]):
            for j in range(V.shape[1]):
                if np.isfinite(V[i, j]):
                    texts.append(ax.text(j, i, f"{V[i, j]:.2f}", ha="center", va="center",
                                         fontsize="x-small",
                                         color=_text_colour(im.cmap(im.norm(V[i, j])))))
                elif missing:
                    texts.append(ax.text(j, i, missing, ha="center", va="center",
                                         fontsize="x-small", color="0.3"))
    if title:
        ax.set_title(title, fontsize="medium")
    cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cb.set_label(label)
    cb.outline.set_linewidth(0.4)
    return {"image": im, "colorbar": cb, "texts": texts}


def maximal_bias_figure(W2, cert2, W3, cert3, mean_alpha, share_omni, *, dims, redundancies,
                        titles=("neurons in the plane", "neurons on the sphere"),
                        figsize=(6.6, 6.2)):
    """The four panels of the maximal-bias figure, with one legend for the marks.

    Top: a layer with 2 inputs on the circle and one with 3 inputs on the sphere
    (a larger 3D panel).  Bottom: the mean certified ``alpha_hat`` of random
    layers and the share of them that are omnidirectional, over input dimension
    and redundancy.

    Parameters
    ----------
    W2, cert2 : (m, 2) float and its BiasCertificate (or alpha_hat)
    W3, cert3 : (m, 3) float and its BiasCertificate (or alpha_hat)
    mean_alpha, share_omni : (len(dims), len(redundancies)) float
    dims, redundancies : sequences
    titles : (str, str)
        Titles of the two top panels.
    figsize : (float, float)

    Returns
    -------
    fig : matplotlib Figure
    axes : dict
        ``"circle"``, ``"sphere"``, ``"mean"``, ``"share"``.
    """
    if isinstance(titles, (str, bytes)) or not hasattr(titles, "__len__") or len(titles) != 2:
        raise ValidationError(
            f"titles must be a pair (circle panel, sphere panel) of strings, got {titles!r}."
        )
    fig = _new_figure(figsize)
    with _closing_on_error(fig):
        gs = fig.add_gridspec(2, 2, height_ratios=(1.3, 1.0), width_ratios=(1.0, 1.2), hspace=0.3,
                              wspace=0.4, top=0.9, bottom=0.09, left=0.1, right=0.92)
        a1 = fig.add_subplot(gs[0, 0])
        art = plot_maximal_bias(W2, cert2, ax=a1, legend=False)
        a1.set_title(titles[0], fontsize="medium")
        a2 = fig.add_subplot(gs[0, 1], projection="3d")
        plot_maximal_bias(W3, cert3, ax=a2, legend=False)
        a2.set_title(titles[1], fontsize="medium")
        a3 = fig.add_subplot(gs[1, 0])
        plot_redundancy(mean_alpha, dims=dims, redundancies=redundancies, ax=a3,
                        label=r"mean $\hat\alpha$", title=r"mean certified $\hat\alpha$")
        a4 = fig.add_subplot(gs[1, 1])
        plot_redundancy(share_omni, dims=dims, redundancies=redundancies, ax=a4, label="share",
                        vmin=0, vmax=1, title="omnidirectional layers")
        handles = [art["directions"], art["hyperplanes"], art["biases"]]
        handles = [h for h in handles if h is not None]
        fig.legend(handles=handles, loc="upper center", ncol=3, fontsize="x-small",
                   bbox_to_anchor=(0.5, 1.0), handlelength=1.5)
        fig.text(0.5, 0.015, "grey cells (none): no omnidirectional layer among the trials, so no "
                 "certificate", ha="center", fontsize="x-small", color="0.3")
    return fig, {"circle": a1, "sphere": a2, "mean": a3, "share": a4}
