"""Bit-packed codes of hidden units (private).

Results of the crossing engine hold the codes of every piece bit-packed: unit ``u``
takes ``ceil(log2(code_sizes[u]))`` bits (one for ReLU, two for hard tanh's four
codes), the units' fields follow each other in a little-endian bit stream
(``np.packbits(..., bitorder="little")``), and every row is padded to whole 64-bit
words.  For networks whose units all have two codes the stream is the bit ``code``
of every unit, so packed codes compare, hash and give Hamming distances directly.

Examples
--------
>>> import numpy as np, polyfold
>>> from polyfold._packing import code_layout, pack_codes, unpack_codes
>>> net = polyfold.PLNet.from_arrays([(np.ones((3, 2)), np.zeros(3)), (np.ones((1, 3)), np.zeros(1))],
...                                  activation="hardtanh")
>>> lay = code_layout(net)
>>> lay.bits.tolist(), lay.n_words
([2, 2, 2], 1)
>>> codes = np.array([[0, 3, 2], [1, 1, 0]], np.int8)
>>> words = pack_codes(codes, lay)
>>> [hex(int(w)) for w in words[:, 0]]
['0x2c', '0x5']
>>> bool(np.array_equal(unpack_codes(words, lay), codes))
True
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["code_layout", "pack_codes", "unpack_codes", "layer_bits"]

_WORD = np.dtype("<u8")


@dataclass(frozen=True)
class _CodeLayout:
    """Where every unit's code sits in a packed row.

    Attributes
    ----------
    bits : (n_hidden,) int64
        Bits of each unit's field.
    offsets : (n_hidden,) int64
        First bit of each unit's field.
    n_bits : int
    n_words : int
        64-bit words per row (at least 1).
    """

    bits: np.ndarray
    offsets: np.ndarray
    n_bits: int
    n_words: int

    @property
    def one_bit(self):
        """True when every unit takes one bit (the packed row is the bit stream of codes)."""
        return bool(np.all(self.bits == 1))


def _bits_for(sizes):
    sizes = np.asarray(sizes, np.int64)
    bits = np.ones(len(sizes), np.int64)
    big = sizes > 2
    if big.any():
        bits[big] = np.ceil(np.log2(sizes[big])).astype(np.int64)
    return bits


def code_layout(net):
    """The :class:`_CodeLayout` of ``net`` (from ``net.code_sizes``)."""
    bits = _bits_for(net.code_sizes)
    offsets = np.concatenate([[0], np.cumsum(bits)[:-1]]).astype(np.int64) if len(bits) else np.zeros(0, np.int64)
    n_bits = int(bits.sum())
    return _CodeLayout(bits=bits, offsets=offsets, n_bits=n_bits, n_words=max(1, -(-n_bits // 64)))


def layer_bits(net):
    """(depth,) int64 bits per unit of every hidden layer of a dense net."""
    bits = _bits_for(net.code_sizes)
    off = np.asarray(net.layer_offsets)
    return np.array([bits[off[l]] if off[l + 1] > off[l] else 1 for l in range(net.depth)], np.int64)


def _runs(bits):
    """``(first unit, number of units, bits)`` of the runs of equal field widths."""
    if not len(bits):
        return []
    cut = np.flatnonzero(np.diff(bits)) + 1
    starts = np.r_[0, cut]
    ends = np.r_[cut, len(bits)]
    return [(int(a), int(b - a), int(bits[a])) for a, b in zip(starts, ends)]


def pack_codes(codes, layout):
    """(n, n_words) uint64 packed rows of (n, n_hidden) integer codes."""
    codes = np.asarray(codes)
    n = codes.shape[0]
    if layout.one_bit:
        stream = codes.astype(bool, copy=False)
    else:
        stream = np.zeros((n, layout.n_bits), bool)
        for u0, cnt, w in _runs(layout.bits):
            o0 = int(layout.offsets[u0])
            block = stream[:, o0 : o0 + cnt * w].reshape(n, cnt, w)
            part = codes[:, u0 : u0 + cnt]
            for b in range(w):
                block[:, :, b] = (part >> b) & 1
    packed = np.packbits(stream, axis=1, bitorder="little")
    out = np.zeros((n, layout.n_words * 8), np.uint8)
    out[:, : packed.shape[1]] = packed
    return out.view(_WORD).astype(np.uint64, copy=False)


def unpack_codes(words, layout):
    """(n, n_hidden) int8 codes of (n, n_words) packed rows."""
    words = np.ascontiguousarray(words, dtype=_WORD)
    n = words.shape[0]
    # (n, 8 n_words) bytes; the explicit width also covers n == 0
    stream = np.unpackbits(words.view(np.uint8).reshape(n, 8 * words.shape[1]), axis=1, count=layout.n_bits, bitorder="little")
    if layout.one_bit:
        return stream.view(np.int8)
    codes = np.zeros((n, len(layout.bits)), np.int8)
    for u0, cnt, w in _runs(layout.bits):
        o0 = int(layout.offsets[u0])
        block = stream[:, o0 : o0 + cnt * w].reshape(n, cnt, w)
        part = codes[:, u0 : u0 + cnt]
        for b in range(w):
            part |= (block[:, :, b] << b).astype(np.int8)
    return codes
