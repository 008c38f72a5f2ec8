"""Per-invocation plumbing of the ``polyfold`` command (private): output folder,
progress bars, status lines, random pairs of points."""

import sys
from pathlib import Path

from ..exceptions import ValidationError


class _Run:
    """Per-invocation helpers: output folder, progress bars, status lines."""

    def __init__(self, args):
        self.args = args
        self.quiet = args.quiet
        self.out = Path(args.out) if getattr(args, "out", None) else None
        self.model_info = None  # training record of a zoo digits net (set when loaded)

    def progress_enabled(self):
        """Progress bars: on a terminal only, never with ``--quiet`` or ``--json``."""
        from .._progress import stderr_is_terminal

        return not (self.args.quiet or self.args.json) and stderr_is_terminal()

    def bar(self, iterable, total=None, desc=None):
        from .._progress import progress_bar

        return progress_bar(iterable, total=total, desc=desc, progress=self.progress_enabled())

    def log(self, msg):
        """A status line: on standard error (so ``--json`` output stays pure), dropped
        by ``--quiet``."""
        if not self.quiet:
            print(msg, file=sys.stderr, flush=True)

    def warn(self, msg):
        """A warning: one line on standard error, shown also with ``--quiet``."""
        print(f"polyfold {self.args.command}: warning: {msg}", file=sys.stderr, flush=True)

    def outdir(self):
        if self.out is None:
            return None
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValidationError(f"--out {str(self.out)!r} cannot be created: {err.strerror}.") from err
        return self.out

    def figure(self, fig, name):
        d = self.outdir()
        if d is None:
            return []
        from ..plotting import save_figure

        paths = save_figure(fig, d, name)
        return [str(p) for p in paths]


def _pairs(rng, n, m):
    """``m`` random ordered pairs ``(i, j)``, ``i != j``, of ``range(n)``."""
    i = rng.integers(0, n, m)
    j = (i + rng.integers(1, n, m)) % n
    return i, j
