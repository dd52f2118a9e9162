"""SAS transport (XPORT) version 5 writer, column-wise in NumPy.

The layout is SAS technical note TS-140 ("The record layout of a SAS transport file"): 80-byte header
records, one 140-byte NAMESTR per variable, then the observations as fixed-width records (numbers as
8-byte IBM System/360 floating point, character values blank-padded), the data padded with blanks to a
multiple of 80 bytes. pyreadstat writes the same format but about ten times slower, too slow for the
100,000-patient export; the tests read every file back with pyreadstat (an independent reader) and
compare every value.

IEEE doubles convert to IBM floats exactly: an IBM mantissa has 56 bits of which at most 3 lead with
zeros after hexadecimal normalisation, so the 53 significant bits always fit.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["XptColumn", "ieee_to_ibm", "write_xpt_v5"]

_MISSING = np.uint64(0x2E << 56)  # SAS missing value "." : 0x2E followed by zeros


@dataclass(frozen=True)
class XptColumn:
    """One variable: `values` float64 (NaN = missing) for numbers, or a sequence of str for text."""

    name: str
    label: str
    values: np.ndarray | Sequence[str]
    numeric: bool
    format: str = ""  # e.g. "DATE9." (name and width are split into nform/nfl)


def ieee_to_ibm(values: np.ndarray) -> np.ndarray:
    """IEEE-754 doubles -> IBM hexadecimal floats as big-endian 8-byte words (NaN -> SAS missing)."""
    x = np.asarray(values, dtype=np.float64)
    bits = x.view(np.uint64)
    sign = bits >> np.uint64(63)
    exponent = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    mantissa = (bits & np.uint64((1 << 52) - 1)) | np.uint64(1 << 52)
    # x = mantissa * 2**(exponent - 1075) = F * 2**(4 * (E - 64) - 56) with F = mantissa << shift.
    t = exponent - 1019
    shift = np.mod(t, 4)
    ibm_exponent = (t - shift) // 4 + 64
    if np.any(((ibm_exponent < 0) | (ibm_exponent > 127)) & (x != 0) & np.isfinite(x)):
        raise ValueError("a number is outside the range of IBM floating point (about 5e-79 to 7e75)")
    fraction = mantissa << shift.astype(np.uint64)
    word = (sign << np.uint64(63)) | (ibm_exponent.astype(np.uint64) << np.uint64(56)) | fraction
    word = np.where(x == 0, np.uint64(0), word)
    word = np.where(np.isnan(x), _MISSING, word)
    if np.any(np.isinf(x)):
        raise ValueError("infinite numbers cannot be written to a SAS transport file")
    return word.astype(">u8")


def _text(value: str, width: int) -> bytes:
    data = value.encode("ascii", "replace")[:width]
    return data.ljust(width, b" ")


def _stamp(moment: dt.datetime) -> bytes:
    return moment.strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")


def _header(kind: str, tail: str = "0" * 30) -> bytes:
    record = f"HEADER RECORD*******{kind:<8}HEADER RECORD!!!!!!!{tail}  ".encode("ascii")
    assert len(record) == 80, kind
    return record


def _pad80(data: bytes, fill: bytes = b" ") -> bytes:
    remainder = len(data) % 80
    return data if remainder == 0 else data + fill * (80 - remainder)


def _char_matrix(values: Sequence[str] | np.ndarray) -> tuple[np.ndarray, int]:
    """UTF-8 bytes of each value, blank-padded to the longest (at least 1 byte); None/NaN is blank.

    Each distinct value is encoded once and the rows index that small table: a column of 700,000 rows
    (ADTTE) holds a few distinct codes, or one identifier per patient."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    encoded = [str(value).encode("utf-8").replace(b"\0", b" ") for value in uniques]
    width = max(1, max((len(data) for data in encoded), default=0))
    # The last row of the table is the blank that missing values (code -1) index.
    table = np.frombuffer(b"".join(data.ljust(width, b" ") for data in [*encoded, b""]), dtype=np.uint8)
    return table.reshape(len(encoded) + 1, width)[codes], width


def _format_parts(fmt: str) -> tuple[str, int, int]:
    """ "DATE9." -> ("DATE", 9, 0); "" -> ("", 0, 0)."""
    if not fmt:
        return "", 0, 0
    body = fmt.rstrip(".")
    name = body.rstrip("0123456789")
    width = int(body[len(name) :] or 0)
    return name, width, 0


def write_xpt_v5(
    path: Path, member: str, label: str, columns: Sequence[XptColumn], created: dt.datetime | None = None
) -> None:
    """Write one dataset (member) as a SAS transport v5 file. Names <= 8 chars, labels <= 40."""
    moment = created or dt.datetime(2000, 1, 1)  # fixed by default: the same data give the same bytes
    n = len(columns[0].values) if columns else 0
    blocks: list[np.ndarray] = []
    namestrs = []
    position = 0
    for number, column in enumerate(columns, start=1):
        if len(column.name) > 8 or len(column.label) > 40 or len(column.values) != n:
            raise ValueError(f"{member}.{column.name}: name > 8, label > 40 or wrong length")
        if column.numeric:
            words = ieee_to_ibm(np.asarray(column.values, dtype=np.float64))
            block = words.view(np.uint8).reshape(n, 8)
            width = 8
        else:
            block, width = _char_matrix(column.values)
        blocks.append(block)
        fmt, fmt_width, fmt_decimals = _format_parts(column.format)
        namestrs.append(
            struct.pack(
                ">hhhh8s40s8shhh2s8shhl52s",
                1 if column.numeric else 2,
                0,
                width,
                number,
                _text(column.name, 8),
                _text(column.label, 40),
                _text(fmt, 8),
                fmt_width,
                fmt_decimals,
                0,
                b"\0\0",
                _text("", 8),
                0,
                0,
                position,
                b"\0" * 52,
            )
        )
        position += width
    rows = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0), dtype=np.uint8)
    stamp = _stamp(moment)
    out = bytearray()
    out += _header("LIBRARY")
    out += b"SAS     SAS     SASLIB  9.4     " + _text("Linux", 8) + b" " * 24 + stamp
    out += stamp + b" " * 64
    out += _header("MEMBER", "000000000000000001600000000140")
    out += _header("DSCRPTR")
    out += b"SAS     " + _text(member, 8) + b"SASDATA " + b"9.4     " + _text("Linux", 8) + b" " * 24 + stamp
    out += stamp + b" " * 16 + _text(label, 40) + _text("", 8)
    out += _header("NAMESTR", f"000000{len(columns):04d}00000000000000000000")
    out += _pad80(b"".join(namestrs))
    out += _header("OBS")
    with open(path, "wb") as handle:
        handle.write(bytes(out))
        data = rows.tobytes()
        handle.write(_pad80(data))
