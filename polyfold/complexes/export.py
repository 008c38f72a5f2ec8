"""Export of 3D complexes to polygon meshes: PLY (ASCII) and Wavefront OBJ."""

import numpy as np

from ..exceptions import ValidationError


def _polygons(cx, what):
    """``(vertices (n, 3), list of index arrays, region pairs (k, 2) or None)``."""
    if cx.dim != 3:
        raise ValidationError(
            f"mesh export needs a 3D complex, got input dimension {cx.dim}; slice the net "
            "or use CellComplex.cells(k) for the raw cells."
        )
    if what == "boundary":
        ds = cx.decision_boundary
        polys = [ds.cells[ds.offsets[i] : ds.offsets[i + 1]] for i in range(len(ds))]
        keep = [i for i, p in enumerate(polys) if len(p) >= 3 and ds.bounded[i]]
        return ds.vertices, [polys[i] for i in keep], ds.classes[keep]
    if what == "facets":
        from .result import _cycle

        lat = cx._lat
        (two, a, b), (one, c) = lat.facet_cofaces()
        faces = np.concatenate([two, one])
        ra = cx._cell_region[np.concatenate([a, c])]
        rb = np.concatenate([cx._cell_region[b], np.full(len(one), -1)])
        off, v = lat.closure_vertices(2)
        vi = cx._vertex_index
        polys, pairs = [], []
        for f, x, y in zip(faces.tolist(), ra.tolist(), rb.tolist()):
            if x == y:
                continue  # a cell of the engine inside one region (max units)
            cyc = vi[_cycle(lat, f, v[off[f] : off[f + 1]])]
            if np.any(cyc < 0):
                continue  # unbounded (whole space)
            polys.append(cyc)
            pairs.append((x, y))
        return cx.vertices, polys, np.array(pairs, np.int64).reshape(-1, 2)
    raise ValidationError(f"what must be 'boundary' or 'facets', got {what!r}.")


def write_ply(cx, path, *, what="boundary"):
    """Write polygons of a 3D :class:`~polyfold.complexes.CellComplex` as ASCII PLY.

    Parameters
    ----------
    cx : CellComplex (d = 3)
    path : str or Path
    what : {"boundary", "facets"}
        The decision boundary's polygons (face properties: the two classes), or
        every bounded 2-cell of the complex (face properties: the two regions; -1
        for the domain's outside).

    Returns
    -------
    path
    """
    V, polys, pairs = _polygons(cx, what)
    used = np.unique(np.concatenate(polys)) if polys else np.zeros(0, np.int64)
    remap = np.full(len(V), -1, np.int64)
    remap[used] = np.arange(len(used))
    names = ("class_a", "class_b") if what == "boundary" else ("region_a", "region_b")
    lines = [
        "ply", "format ascii 1.0", "comment polyfold cell complex (" + what + ")",
        f"element vertex {len(used)}", "property double x", "property double y", "property double z",
        f"element face {len(polys)}", "property list uchar int vertex_indices",
        f"property int {names[0]}", f"property int {names[1]}", "end_header",
    ]
    lines += [f"{x!r} {y!r} {z!r}" for x, y, z in V[used].tolist()]
    for p, (a, b) in zip(polys, pairs.tolist()):
        lines.append(" ".join([str(len(p))] + [str(i) for i in remap[p].tolist()] + [str(a), str(b)]))
    with open(path, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    return path


def write_obj(cx, path, *, what="boundary"):
    """Write the same polygons as :func:`write_ply` as Wavefront OBJ (1-based faces)."""
    V, polys, _ = _polygons(cx, what)
    used = np.unique(np.concatenate(polys)) if polys else np.zeros(0, np.int64)
    remap = np.full(len(V), -1, np.int64)
    remap[used] = np.arange(1, len(used) + 1)
    lines = [f"# polyfold cell complex ({what})"]
    lines += [f"v {x!r} {y!r} {z!r}" for x, y, z in V[used].tolist()]
    lines += ["f " + " ".join(str(i) for i in remap[p].tolist()) for p in polys]
    with open(path, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    return path
